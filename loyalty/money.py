"""Money as integer minor units with an ISO 4217 code. No float, no Decimal stored."""

from __future__ import annotations

import re
from dataclasses import dataclass

from loyalty.errors import BadInput

# ISO 4217 minor units of the currencies our shops use; a program may name another currency
# together with its `minor_units`.
MINOR_UNITS: dict[str, int] = {
    "EUR": 2, "PLN": 2, "RON": 2, "THB": 2, "IRR": 0, "GBP": 2, "USD": 2, "CZK": 2, "HUF": 2,
    "BGN": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "JPY": 0, "KWD": 3, "BHD": 3,
}  # fmt: skip

_AMOUNT = re.compile(r"^\s*(?P<sign>-)?(?P<whole>\d{1,15})(?:[.,](?P<frac>\d+))?\s*$")


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise BadInput("amount_not_integer", value=repr(self.amount_minor))


def minor_units(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise BadInput("unknown_currency", currency=currency) from None


def parse_amount(text: str, digits: int) -> int:
    """'12.50' or '12,50' -> 1250 minor units (for 2 digits), exactly; refuses '12.345'
    (more precision than the currency has), '1e3', '', 'NaN' and other non-amounts."""
    # A Persian or Arabic keyboard types its own digits and decimal separator: int() reads
    # every Unicode decimal digit; the separator is mapped here.
    m = _AMOUNT.match(text.replace("٫", "."))
    if not m:
        raise BadInput("malformed_amount", value=text)
    frac = m.group("frac") or ""
    if len(frac) > digits:
        raise BadInput("amount_too_precise", value=text, digits=digits)
    value: int = int(m.group("whole")) * (10**digits) + int(frac.ljust(digits, "0") or "0")
    return -value if m.group("sign") else value


def format_plain(amount_minor: int, digits: int) -> str:
    """1250 -> '12.50': for JSON and logs (the terminal formats for people)."""
    sign = "-" if amount_minor < 0 else ""
    whole, frac = divmod(abs(amount_minor), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"
