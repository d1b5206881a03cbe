"""Figures about members over a period or as of now: active members, repeat-purchase rate
and purchase frequency, the tier distribution and movement, and the points outstanding with
their money value. Definitions: docs/kpis.md."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from loyalty.db import to_text
from loyalty.program import Program
from sync.headoffice.own_entries import HEADOFFICE
from sync.headoffice.reports.period import Period, utc_text
from sync.headoffice.reports.rates import Rate
from sync.headoffice.reports.sql import COUNTED, IS_PURCHASE, WHEN, day_sql, n, shop_filter
from sync.headoffice.store import Tx

ACTIVE_DAYS = (30, 90, 365)
EXPIRING_DAYS = (30, 90)


def buying(tx: Tx, period: Period) -> dict[str, Any]:
    """Over the whole period: members who bought, those who bought twice or more, purchases;
    and members active in the 30/90/365 shop days to the period's end; from the ledger."""
    shop_sql, shop_params = shop_filter(period.shop)
    day, day_params = day_sql(period.dialect, WHEN, str(period.tz))
    # Hash aggregates, not COUNT(DISTINCT ...): purchases per member, then members; and each
    # member's latest purchase, then how many are recent enough.
    row = tx.one(
        "SELECT COUNT(*), SUM(CASE WHEN t.n >= 2 THEN 1 ELSE 0 END), SUM(t.n) FROM ("
        "SELECT r.member_id, COUNT(*) AS n FROM (SELECT DISTINCT e.member_id, e.terminal_id, "
        f"e.receipt_no, {day} FROM entries e WHERE {IS_PURCHASE} AND {WHEN} >= ? AND "
        f"{WHEN} < ?" + shop_sql + ") r GROUP BY r.member_id) t",
        [*day_params, period.lo, period.hi, *shop_params],
    )
    buyers, repeat, purchases = (n(x) for x in row) if row else (0, 0, 0)
    since = [active_since(period, d) for d in ACTIVE_DAYS]
    active = tx.one(
        "SELECT "
        + ", ".join("SUM(CASE WHEN t.last >= ? THEN 1 ELSE 0 END)" for _ in ACTIVE_DAYS)
        + f" FROM (SELECT e.member_id, MAX({WHEN}) AS last FROM entries e WHERE {IS_PURCHASE} "
        f"AND {WHEN} >= ? AND {WHEN} < ?" + shop_sql + " GROUP BY e.member_id) t",
        [*since, since[-1], period.hi, *shop_params],
    )
    return buying_figures(buyers, repeat, purchases, [n(v) for v in active or (0,) * 3])


def active_since(period: Period, days: int) -> str:
    """The first moment of the ``days`` shop days that end with the period."""
    return utc_text(period.end - dt.timedelta(days=days - 1), period.tz)


def buying_figures(buyers: int, repeat: int, purchases: int,
                   active: list[int]) -> dict[str, Any]:  # fmt: skip
    return {
        "buying_members": buyers,
        "repeat_buyers": repeat,
        "purchases": purchases,
        "repeat_purchase_rate": Rate(repeat, buyers).as_dict(),
        "purchase_frequency": Rate(purchases, buyers).as_dict(),
        "active_members": {f"{d}d": v for d, v in zip(ACTIVE_DAYS, active, strict=True)},
    }


def distribution(tx: Tx) -> dict[str, int]:
    """Members per tier now (chain-wide: a tier is the member's, not a shop's)."""
    return {
        str(t or ""): n(c)
        for t, c in tx.all(
            "SELECT tier_id, COUNT(*) FROM members WHERE erased = 0 GROUP BY tier_id "
            "ORDER BY tier_id"
        )
    }


def tiers(tx: Tx, period: Period) -> dict[str, Any]:
    """Members per tier now, and head office's tier reviews in the period, from one tier to
    another, read from the ledger."""
    rows = tx.all(
        f"SELECT e.reason, COUNT(*) FROM entries e WHERE e.terminal_id = '{HEADOFFICE}' "
        f"AND e.kind = 'adjust' AND e.reason LIKE 'tier_review:%' AND {WHEN} >= ? "
        f"AND {WHEN} < ? AND {COUNTED} GROUP BY e.reason ORDER BY e.reason",
        [period.lo, period.hi],
    )
    return {"distribution_now": distribution(tx), "reviews_in_period": moves(rows)}


def moves(rows: Iterable[tuple[Any, ...]]) -> dict[str, int]:
    """``old>new``: count, from (reason ``tier_review:old:new``, count) rows."""
    out: dict[str, int] = {}
    for reason, count in sorted(rows, key=lambda r: str(r[0])):
        _, old, new = (str(reason).split(":") + ["", ""])[:3]
        out[f"{old}>{new}"] = n(count)
    return out


def outstanding(tx: Tx, program: Program | None, now: dt.datetime) -> dict[str, Any]:
    """The points members hold now (chain-wide), from head office's accounts: available
    (spendable; pending points whose return window has closed count here), pending, the
    overdrawn total, and the next expiring batch due within 30/90 days; each with its money
    value at the program's points-payment rate."""
    stamp = to_text(now)
    horizons = [to_text(now + dt.timedelta(days=d)) for d in EXPIRING_DAYS]
    row = tx.one(
        "SELECT SUM(CASE WHEN balance > 0 THEN balance ELSE 0 END), "
        "SUM(CASE WHEN balance < 0 THEN -balance ELSE 0 END), "
        "SUM(CASE WHEN balance < 0 THEN 1 ELSE 0 END), "
        + ", ".join(
            "SUM(CASE WHEN (pending_json <> '[]' OR expiring_points > 0) AND expiring_at > ? "
            "AND expiring_at <= ? THEN expiring_points ELSE 0 END)"
            for _ in EXPIRING_DAYS
        )
        + " FROM members WHERE erased = 0",
        [x for h in horizons for x in (stamp, h)],
    )
    available, overdrawn, overdrawn_members, *expiring = (
        (n(x) for x in row) if row else (0,) * (3 + len(EXPIRING_DAYS))
    )
    # Each pending lot ([points, release time]) in the database: released ones are available.
    lots = (
        "jsonb_array_elements(m.pending_json::jsonb) l", "(l->>0)::bigint", "(l->>1)"
    ) if tx.dialect == "postgresql" else (
        "json_each(m.pending_json) l", "json_extract(l.value, '$[0]')",
        "json_extract(l.value, '$[1]')",
    )  # fmt: skip
    row = tx.one(
        f"SELECT SUM(CASE WHEN {lots[2]} <= ? THEN {lots[1]} ELSE 0 END), "
        f"SUM(CASE WHEN {lots[2]} > ? THEN {lots[1]} ELSE 0 END) FROM members m "
        f"CROSS JOIN {lots[0]} WHERE m.erased = 0 AND m.pending_json <> '[]'",
        (stamp, stamp),
    )
    released, pending = (n(x) for x in row) if row else (0, 0)
    available += released
    figures = {"available": available, "pending": pending, "overdrawn": overdrawn}
    figures.update({f"expiring_{d}d": x for d, x in zip(EXPIRING_DAYS, expiring, strict=True)})
    rate = program.points_payment if program else None
    return {
        "points": figures,
        "overdrawn_members": overdrawn_members,
        "value_minor": {
            k: (v * rate.value_minor // rate.points if rate else None) for k, v in figures.items()
        },  # fmt: skip
        "rate": {"points": rate.points, "value_minor": rate.value_minor} if rate else None,
    }
