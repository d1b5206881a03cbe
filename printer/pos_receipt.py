"""What a shop POS's printed receipt says: its total, its lines, its own receipt number and a
member code printed on it, found in the receipt's text lines by patterns (regular
expressions) that a profile names or the shop's config gives. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# An amount as receipts print it: 12.50, 12,50, 1.234,50, 1,234.50, -3.00 (no currency).
AMOUNT = r"-?\d{1,3}(?:[.,' \u00a0]?\d{3})*[.,]\d{2}"
_MEMBER_CODE = r"(?P<code>LT[A-Z2-7]{20,}|\d[\d -]{10,22}\d)"
_TOTAL_WORDS = r"TOTAL|SUMA|RAZEM|ΣΥΝΟΛΟ|Σύνολο|TOTAL DE PLATĂ|รวมทั้งสิ้น|جمع کل"


@dataclass(frozen=True, slots=True)
class ReceiptPatterns:
    """Each a regular expression over one text line. ``total`` and ``line`` capture
    ``amount`` (``line`` also ``name``), ``receipt_id`` captures ``id``, ``member`` ``code``."""

    total: str
    line: str
    receipt_id: str
    member: str


PROFILES: Mapping[str, ReceiptPatterns] = {
    # "NAME      12.50" lines, a "TOTAL  EUR 42.50" line, "Receipt No: 1234", "Member: 4000…".
    "generic": ReceiptPatterns(
        total=rf"(?i)^\s*(?:{_TOTAL_WORDS})\s*:?\s+(?:[^\d\s-]{{1,4}}\s*)?(?P<amount>{AMOUNT})\s*(?:[^\d\s]{{1,4}})?\s*$",
        line=rf"^\s*(?P<name>\S.*?)\s{{2,}}(?P<amount>{AMOUNT})\s*[A-Z]?\s*$",
        receipt_id=r"(?i)(?:receipt|ticket|bon|paragon|απόδειξη|αρ\.)\s*(?:no\.?|nr\.?|#)?\s*:?\s*(?P<id>[A-Za-z0-9][A-Za-z0-9/_-]{2,40})\s*$",
        member=rf"(?i)(?:member|card|karta|κάρτα|card fidelitate)\s*:?\s*{_MEMBER_CODE}\s*$",
    ),
    # Odoo's POS receipt: "Order 00001-001-0001", product lines with the price at the right,
    # "TOTAL  € 42.50".
    "odoo": ReceiptPatterns(
        total=rf"^\s*TOTAL\s+(?:[^\d\s-]{{1,4}}\s*)?(?P<amount>{AMOUNT})\s*(?:[^\d\s]{{1,4}})?\s*$",
        line=rf"^\s*(?P<name>[^\d\s].*?)\s{{2,}}(?:[^\d\s-]{{1,4}}\s*)?(?P<amount>{AMOUNT})\s*(?:[^\d\s]{{1,4}})?\s*$",
        receipt_id=r"^\s*Order\s+(?P<id>\d{5}-\d{3}-\d{4})\s*$",
        member=rf"(?i)(?:member|card|loyalty)\s*:?\s*{_MEMBER_CODE}\s*$",
    ),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class PosLine:
    name: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class PosReceipt:
    total_minor: int
    lines: tuple[PosLine, ...]  # empty when the lines found do not add up to the total
    receipt_id: str | None
    member_code: str | None
    currency: str | None = None  # ISO 4217, when the total line names one (€, zł, EUR...)


# Currency signs and words receipts print beside a total; ISO codes themselves are known too.
_CURRENCY_MARKS: dict[str, str] = {
    "€": "EUR", "ZŁ": "PLN", "ZL": "PLN", "LEI": "RON", "฿": "THB", "บาท": "THB", "£": "GBP",
    "$": "USD", "US$": "USD", "ریال": "IRR", "﷼": "IRR", "KČ": "CZK", "FT": "HUF",
    "ЛВ": "BGN", "ЛВ.": "BGN", "CHF": "CHF", "₺": "TRY", "₴": "UAH",
}  # fmt: skip


def currency_of(text: str) -> str | None:
    """The currency a total line names beside its amount (None: it names none we know)."""
    from babel.numbers import list_currencies

    for token in re.findall(r"[^\d\s.,:;()*=-]+", text):
        mark = token.upper()
        if mark in _CURRENCY_MARKS:
            return _CURRENCY_MARKS[mark]
        if re.fullmatch(r"[A-Z]{3}", token) and token in list_currencies():
            return str(token)
    return None


def amount_minor(text: str, digits: int = 2) -> int:
    """'1.234,50' / '1,234.50' / '12.50' -> minor units (the last separator is the decimal
    one; receipts print exactly ``digits`` decimals)."""
    negative = text.strip().startswith("-")
    kept = re.sub(r"\D", "", text)
    value = int(kept) if kept else 0
    if digits != 2:
        value = value * 10**digits // 100
    return -value if negative else value


def patterns_for(profile: str, overrides: Mapping[str, str] | None = None) -> ReceiptPatterns:
    """A named profile with any of its patterns replaced (KeyError for an unknown profile,
    re.error for an override that is not a regular expression)."""
    base = PROFILES[profile]
    fields = {
        "total": base.total, "line": base.line,
        "receipt_id": base.receipt_id, "member": base.member,
    }  # fmt: skip
    for key, value in (overrides or {}).items():
        if key in fields:
            re.compile(value)
            fields[key] = value
    return ReceiptPatterns(**fields)


def read_receipt(
    lines: Sequence[str], patterns: ReceiptPatterns, digits: int = 2
) -> PosReceipt | None:
    """The POS receipt in these lines; None when no total is found (the stream is then
    forwarded untouched). The last total line wins (a receipt may print a subtotal first
    under another word); the item lines are those above it."""
    total_re, line_re = re.compile(patterns.total), re.compile(patterns.line)
    id_re, member_re = re.compile(patterns.receipt_id), re.compile(patterns.member)
    total_at = None
    for index, text in enumerate(lines):
        if total_re.search(text):
            total_at = index
    if total_at is None:
        return None
    found = total_re.search(lines[total_at])
    assert found is not None
    total = amount_minor(found.group("amount"), digits)
    line = lines[total_at]
    currency = currency_of(line[: found.start("amount")] + " " + line[found.end("amount") :])
    items: list[PosLine] = []
    for text in lines[:total_at]:
        m = line_re.search(text)
        if m and not total_re.search(text):
            items.append(
                PosLine(m.group("name").strip()[:64], amount_minor(m.group("amount"), digits))
            )
    if sum(x.amount_minor for x in items) != total:
        items = []
    receipt_id = member = None
    for text in lines:
        if receipt_id is None and (m := id_re.search(text)):
            receipt_id = m.group("id")
        if member is None and (m := member_re.search(text)):
            member = m.group("code")
    return PosReceipt(total, tuple(items), receipt_id, member, currency)
