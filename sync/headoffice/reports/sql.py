"""The SQL pieces every report shares, written once, for SQLite and PostgreSQL alike (``?``
placeholders, ``CASE`` rather than ``MIN``/``LEAST``, ``||`` for text).

- **When an entry counts**: the till's ``occurred_at``, but never later than head office
  received it (the rule of accounts.py: a till clock running fast cannot move its sales into
  the future).
- **Counted entries**: every till's entry and head office's own compensations (expiry, tier
  review, once-only take-backs and refunds, released held entries); a merge's moves (the
  duplicate member's entries moved out and into the member kept) are transfers between two
  ids of one shopper and are left out, so the original entries count once.
- **A purchase**: one receipt of a till (``terminal_id`` + ``receipt_no``) with an earning or a
  redemption on it, counted once per member and shop day; a refund's receipt
  carries only reversals and is not a purchase.
- **Member spend**: the eligible spend of the sale's ``base`` earn lines, less the spend its
  refunds took back (``reverse`` lines with reason ``refund:base``).
"""

from __future__ import annotations

from typing import Any

from sync.headoffice.own_entries import HEADOFFICE

WHEN = "(CASE WHEN e.occurred_at < e.received_at THEN e.occurred_at ELSE e.received_at END)"
OWN_REASONS = (
    "expiry", "tier_review:%", "released:%", "already_%", "above_face_value%", "engagement_%",
    "offer_%", "referral:%",
)  # fmt: skip
COUNTED = (
    f"(e.terminal_id <> '{HEADOFFICE}' OR "
    + " OR ".join(f"e.reason LIKE '{r}'" for r in OWN_REASONS)
    + ")"
)
IS_PURCHASE = (
    f"(e.terminal_id <> '{HEADOFFICE}' AND e.receipt_no IS NOT NULL "
    "AND e.kind IN ('earn', 'bonus', 'redeem', 'donate'))"
)
SPEND = (
    "(CASE WHEN e.kind = 'earn' AND e.reason = 'base' THEN e.amount_minor "
    "WHEN e.kind = 'reverse' AND e.reason = 'refund:base' THEN e.amount_minor ELSE 0 END)"
)


def shop_filter(shop: str | None, column: str = "e.terminal_id") -> tuple[str, list[Any]]:
    """`` AND <column> = ?`` for one shop, nothing for the chain."""
    return ("", []) if shop is None else (f" AND {column} = ?", [shop])


def day_sql(dialect: str, expr: str, tz: str) -> tuple[str, list[Any]]:
    """The shop day (``YYYY-MM-DD`` in the program's time zone) of a time column, and its
    parameters: PostgreSQL's ``AT TIME ZONE``, SQLite's ``shop_day`` (store.py registers
    sync/headoffice/shop_days.py's). Reports group by day and put days in buckets in Python."""
    if dialect == "postgresql":
        return f"to_char(({expr})::timestamptz AT TIME ZONE ?, 'YYYY-MM-DD')", [tz]
    return f"shop_day({expr}, ?)", [tz]


def n(value: Any) -> int:
    """An aggregate's integer (``SUM`` over no rows is NULL; PostgreSQL's is a Decimal)."""
    return 0 if value is None else int(value)
