"""Cohort retention: the members enrolled in each month of the period (shop time), and for each
later month up to the period's end how many of them made a purchase in it (at any shop, or at
the shop asked for), as a share of the cohort."""

from __future__ import annotations

from typing import Any

from loyalty.db import from_text
from sync.headoffice.reports.period import Period
from sync.headoffice.reports.rates import Rate
from sync.headoffice.reports.sql import IS_PURCHASE, WHEN, shop_filter
from sync.headoffice.store import Tx


def month_of(text: str, period: Period) -> tuple[int, int]:
    local = from_text(text).astimezone(period.tz)
    return local.year, local.month


def months_between(a: tuple[int, int], b: tuple[int, int]) -> int:
    return (b[0] - a[0]) * 12 + b[1] - a[1]


def cohorts(tx: Tx, period: Period) -> list[dict[str, Any]]:
    enrol_sql, enrol_params = shop_filter(period.shop, "m.enrolled_by")
    members: dict[str, tuple[int, int]] = {
        str(member_id): month_of(str(at), period)
        for member_id, at in tx.all(
            "SELECT m.member_id, m.enrolled_at FROM members m WHERE m.enrolled_at >= ? AND "
            "m.enrolled_at < ?" + enrol_sql,
            [period.lo, period.hi, *enrol_params],
        )
    }
    if not members:
        return []
    shop_sql, shop_params = shop_filter(period.shop)
    # PostgreSQL names each purchase's shop-time month itself; SQLite hands back minutes (not
    # hours: a zone half an hour off UTC still puts each purchase in its month).
    if period.dialect == "postgresql":
        month_sql, month_params = (
            f"to_char(({WHEN})::timestamptz AT TIME ZONE ?, 'YYYY-MM')",
            [str(period.tz)],
        )
    else:
        month_sql, month_params = f"SUBSTR({WHEN}, 1, 16)", []
    bought: dict[tuple[int, int], set[str]] = {}
    for member_id, when in tx.all(
        f"SELECT DISTINCT e.member_id, {month_sql} FROM entries e "
        f"JOIN members m ON m.member_id = e.member_id WHERE {IS_PURCHASE} "
        f"AND {WHEN} >= ? AND {WHEN} < ? AND m.enrolled_at >= ? AND m.enrolled_at < ?" + shop_sql,
        [*month_params, period.lo, period.hi, period.lo, period.hi, *shop_params],
    ):
        if str(member_id) in members:
            text = str(when)
            month = (
                (int(text[:4]), int(text[5:7]))
                if len(text) == 7
                else month_of(f"{text}:00.000000Z", period)
            )
            bought.setdefault(month, set()).add(str(member_id))
    end = (period.end.year, period.end.month)
    out = []
    for cohort in sorted(set(members.values())):
        ids = {m for m, c in members.items() if c == cohort}
        row = []
        for offset in range(months_between(cohort, end) + 1):
            y, mo = divmod(cohort[0] * 12 + cohort[1] - 1 + offset, 12)
            active = len(ids & bought.get((y, mo + 1), set()))
            row.append(Rate(active, len(ids)).as_dict())
        out.append({"cohort": f"{cohort[0]}-{cohort[1]:02d}", "members": len(ids),
                    "months": row})  # fmt: skip
    return out
