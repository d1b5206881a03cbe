"""What the shop's POS did through the till (its API or the printer bridge), as events for
whoever shows it: the cashier's app (terminal/app, ``TillServices.pos_did``) and, through
``ShopperEvents``, the shopper display. Plain frozen values, past tense; a listener is called on
the API's or the bridge's thread and must return at once (the app posts a message)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from loyalty.balance import Balance
from loyalty.errors import LoyaltyError
from loyalty.refunds import RefundResult
from loyalty.sales import SaleResult
from terminal.errors import CommandError
from terminal.i18n import Translator
from terminal.messages import describe
from terminal.scanning import ScanRefusedError

Via = Literal["api", "printer"]


@dataclass(frozen=True, slots=True)
class PosIdentified:
    """The POS identified a member through the API (a card, phone or app code it read)."""

    member_id: str
    display_name: str
    language: str
    balance: Balance


@dataclass(frozen=True, slots=True)
class PosSold:
    """A POS sale was recorded once (a retry of it is not a new event); ``via`` the API or a
    receipt printed through the bridge; ``reward_id`` when the POS applied a reward."""

    pos_sale_id: str
    result: SaleResult
    via: Via
    reward_id: str | None = None

    @property
    def member_id(self) -> str:
        return self.result.after.member_id


@dataclass(frozen=True, slots=True)
class PosRefunded:
    pos_refund_id: str
    pos_sale_id: str
    result: RefundResult


@dataclass(frozen=True, slots=True)
class PosReceiptPassed:
    """The bridge sent a POS receipt to the printer without loyalty: it could not read it
    (``error`` None) or the sale was refused (``error`` says why)."""

    error: Exception | None


PosEvent = PosIdentified | PosSold | PosRefunded | PosReceiptPassed
PosListener = Callable[[PosEvent], object]


def refusal_text(t: Translator, error: Exception, currency: str | None = None) -> str:
    """Why the till refused what the POS sent, in ``t``'s language."""
    if isinstance(error, LoyaltyError):
        return describe(t, error, currency)
    if isinstance(error, ScanRefusedError):
        return t(f"scan.refused.{error.refused.reason.value}")
    if isinstance(error, CommandError):
        return t(error.key, **error.params)
    return t("pos.bad_json")


def passed_text(t: Translator, event: PosReceiptPassed, currency: str | None = None) -> str:
    """The cashier's notice of a POS receipt printed without loyalty."""
    if event.error is None:
        return t("pos.bridge.unreadable")
    return t("pos.bridge.refused", reason=refusal_text(t, event.error, currency))
