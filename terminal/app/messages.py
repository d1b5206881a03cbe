"""Events the app's workers and widgets post: small dataclasses, past tense."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from textual.message import Message

from display.touch import ShopperInput
from loyalty.errors import LoyaltyError
from loyalty.policy import Authorisation
from loyalty.refunds import Refundable, RefundResult
from loyalty.rules import BasketLine
from loyalty.sales import SaleResult
from loyalty.till import Enrolment
from terminal.app.services import MemberView
from terminal.auth import Cashier, LockedOut

# The screens a screen may ask the app for (the app owns navigation; screens never import
# each other).
ScreenName = Literal["enrol", "refund", "reprint", "end_of_day"]


@dataclass
class ScreenRequested(Message):
    """A screen's key asked for another screen; the app opens it."""

    name: ScreenName
    phone: str = ""  # enrol: the phone the shopper typed on the display (no member had it)


@dataclass
class CashierSignedIn(Message):
    cashier: Cashier


@dataclass
class SignInRefused(Message):
    """A wrong id or PIN; ``locked`` when that id is locked out after repeated wrong PINs."""

    locked: LockedOut | None = None


@dataclass
class SignOutRequested(Message):
    """The cashier's sign-out key (idle or lock screen); the app decides."""


@dataclass
class TillUnlocked(Message):
    """The lock screen took a PIN: the locked cashier's own, or a manager's (who then is the
    cashier signed in)."""

    cashier: Cashier


@dataclass
class MemberScanned(Message):
    """A code arrived from a keyboard-wedge scanner, the camera or the keyboard."""

    code: str
    source: str  # wedge | camera | shopper (the shopper-facing camera) | typed


@dataclass
class MemberIdentified(Message):
    view: MemberView


@dataclass
class LookupFailed(Message):
    error: LoyaltyError | None
    reason: str | None = None  # a scanner refusal code when the code itself was refused


@dataclass
class SalePreviewed(Message):
    """What the basket on screen would earn and cost; nothing written."""

    result: SaleResult


@dataclass
class PreviewRefused(Message):
    """Why the basket on screen cannot be sold as it is (shown while typing)."""

    error: LoyaltyError


@dataclass
class SaleCommitted(Message):
    result: SaleResult


@dataclass
class SaleCancelled(Message):
    """The cashier left the sale screen without a sale (Esc)."""


@dataclass
class AuthorisationGranted(Message):
    """Head office holds the points for this sale."""

    hold: Authorisation


@dataclass
class AuthorisationFailed(Message):
    code: str  # a sync error code (sync.error.<code> in the catalogues)
    params: dict[str, Any] = field(default_factory=dict)  # what the message names


@dataclass
class SaleRefused(Message):
    error: LoyaltyError


@dataclass
class ReceiptLoaded(Message):
    """The receipt a refund starts from, with what each line has left."""

    receipt: Refundable
    member_name: str


@dataclass
class RefundPreviewed(Message):
    """What the picked refund would do; nothing written yet."""

    result: RefundResult
    lines: list[BasketLine]


@dataclass
class RefundRefused(Message):
    error: LoyaltyError


@dataclass
class RefundCommitted(Message):
    result: RefundResult


@dataclass
class MemberEnrolled(Message):
    enrolment: Enrolment


@dataclass
class ReceiptPrinted(Message):
    receipt_no: str


@dataclass
class PrintFailed(Message):
    receipt_no: str
    state: str


@dataclass
class SyncStarted(Message):
    pass


@dataclass
class SyncProgressed(Message):
    entries_left: int
    bytes_sent: int


@dataclass
class SyncCompleted(Message):
    pushed: int
    pulled: int
    held: int = 0  # entries of this till head office holds without crediting them (all of them)
    restored: bool = False  # this sync found the till restored from a backup: a new segment
    lost: int = 0  # when restored: entries head office holds that the restored till lost


@dataclass
class SyncFailed(Message):
    reason: str
    asked: bool = False  # the cashier asked for this sync (F5); else it ran in the background
    params: dict[str, Any] = field(default_factory=dict)  # what the reason's message names


@dataclass
class DeviceStateChanged(Message):
    device: str  # printer | camera | headoffice
    state: str


@dataclass
class PosActed(Message):
    """The shop's POS did something through the till (terminal/pos/events.py: a member
    identified, a sale or refund recorded, a receipt printed without loyalty); ``view``: the
    member it concerns, as they stand after it."""

    event: object
    view: MemberView | None = None


@dataclass
class ShopperActed(Message):
    """The shopper typed or tapped on the touch display (display/touch.py): a phone to check in,
    the terms answered, or the ask lapsed. Posted from the display server's thread."""

    item: ShopperInput
