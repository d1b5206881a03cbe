"""Money typed into the till's fields: the amount the cashier meant, or why it is not one.

Every refusal is a ``BadInput`` whose money parameters end in ``_minor``, so ``describe()``
shows them as money in the till's language ("-€5.00", never "-500"); the typed text itself is
shown as ``value``, cut short.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loyalty.errors import BadInput
from loyalty.money import parse_amount

# Above this total the till asks the cashier to confirm the amount before the sale commits
# (setting `confirm_sale_above`, major units).
DEFAULT_CONFIRM_ABOVE = "500"
# This many digits and nothing else is a card number or a barcode that went into a money field
# (a typed card, a scanner on the wrong field), not an amount: the shortest barcode (EAN-8) has 8.
CODE_DIGITS = 8
_ONLY_DIGITS = re.compile(r"^[\d\s]+$")


@dataclass(frozen=True, slots=True)
class AmountRules:
    digits: int
    max_sale_minor: int
    confirm_above_minor: int

    @classmethod
    def for_till(cls, program: Any, settings: Mapping[str, Any]) -> AmountRules:
        digits = int(program.minor_units)
        limit = int(
            program.limits.max_sale_minor
        )  # the program's largest sale (sales refuse it too)
        if "max_sale" in settings:  # a shop may set a lower one for its tills
            limit = min(limit, parse_amount(str(settings["max_sale"]), digits))
        confirm = parse_amount(
            str(settings.get("confirm_sale_above", DEFAULT_CONFIRM_ABOVE)), digits
        )
        return cls(digits, limit, confirm)


def shown(text: str) -> str:
    """The typed text as a message quotes it: stripped and cut short."""
    return text.strip()[:24]


def read_amount(text: str, rules: AmountRules) -> int:
    """One money field: a positive amount no larger than the largest sale.

    Refuses (``BadInput``): an empty field (``amount_missing``), a run of digits long enough to
    be a card or barcode (``amount_looks_like_code``), a non-amount (``malformed_amount``), more
    decimals than the currency has, a negative amount and one over the largest sale."""
    raw = text.strip()
    if not raw:
        raise BadInput("amount_missing")
    if _ONLY_DIGITS.match(raw) and sum(c.isdigit() for c in raw) >= CODE_DIGITS:
        raise BadInput("amount_looks_like_code", value=shown(raw))
    try:
        amount = parse_amount(raw, rules.digits)
    except BadInput as exc:
        if exc.code == "malformed_amount":
            raise BadInput("malformed_amount", value=shown(raw)) from None
        raise
    if amount < 0:
        raise BadInput("amount_negative", amount_minor=amount)
    check_sale_total(amount, rules)
    return amount


def check_sale_total(amount_minor: int, rules: AmountRules) -> None:
    if amount_minor > rules.max_sale_minor:
        raise BadInput("sale_too_large", total_minor=amount_minor, limit_minor=rules.max_sale_minor)


def read_points(text: str) -> int:
    """The points a shopper pays with: empty is none; '-' or '12a' says why it is not a number
    (negative counts are the domain's refusal, with its own message)."""
    raw = text.strip()
    if not raw:
        return 0
    try:
        return int(raw)
    except ValueError:
        raise BadInput("points_not_a_number", value=shown(raw)) from None
