"""The end-of-day report: points issued and redeemed, by cashier, for one shop day, and what
has not reached head office yet. The shop day is the local date in the program's time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from loyalty import ledger
from loyalty.db import to_text
from loyalty.till import Till


@dataclass(frozen=True, slots=True)
class CashierDay:
    cashier_id: str
    sales: int
    refunds: int
    points_issued: int  # earn + bonus + positive adjustments
    points_redeemed: int  # rewards, points payment, donations (positive number)
    points_reversed: int  # by refunds, net (positive = taken back)
    spend_minor: int  # basket totals of sales less the money refunded that day (net)


@dataclass(frozen=True, slots=True)
class DayReport:
    day: dt.date
    terminal_id: str
    currency: str
    cashiers: tuple[CashierDay, ...]
    unsynced_entries: int
    first_receipt: str | None
    last_receipt: str | None

    @property
    def points_issued(self) -> int:
        return sum(c.points_issued for c in self.cashiers)

    @property
    def points_redeemed(self) -> int:
        return sum(c.points_redeemed for c in self.cashiers)


def day_report(till: Till, day: dt.date) -> DayReport:
    program = till.program
    tz = program.timezone
    start = dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    window = (to_text(start), to_text(end))
    with till.db.read() as conn:
        points = conn.execute(
            "SELECT cashier_id, "
            "SUM(CASE WHEN kind IN ('earn', 'bonus') OR (kind = 'adjust' AND points > 0) "
            "    THEN points ELSE 0 END), "
            "SUM(CASE WHEN kind IN ('redeem', 'donate') THEN -points ELSE 0 END), "
            "SUM(CASE WHEN kind = 'reverse' THEN -points ELSE 0 END) "
            "FROM ledger WHERE occurred_at >= ? AND occurred_at < ? GROUP BY cashier_id",
            window,
        ).fetchall()
        counts = conn.execute(
            "SELECT cashier_id, SUM(kind = 'sale'), SUM(kind = 'refund'), "
            "SUM(CASE WHEN kind = 'sale' THEN total_minor ELSE -total_minor END), "
            "MIN(receipt_no), MAX(receipt_no) "
            "FROM sales WHERE occurred_at >= ? AND occurred_at < ? GROUP BY cashier_id",
            window,
        ).fetchall()
        unsynced = ledger.unacked_count(conn)
    by_cashier: dict[str, list[int]] = {}
    for cashier, issued, redeemed, reversed_ in points:
        by_cashier[cashier] = [0, 0, issued or 0, redeemed or 0, reversed_ or 0, 0]
    first = last = None
    for cashier, n_sales, n_refunds, spend, lo, hi in counts:
        row = by_cashier.setdefault(cashier, [0, 0, 0, 0, 0, 0])
        row[0], row[1], row[5] = n_sales or 0, n_refunds or 0, spend or 0
        first = lo if first is None or lo < first else first
        last = hi if last is None or hi > last else last
    cashiers = tuple(CashierDay(c, *v) for c, v in sorted(by_cashier.items()))
    return DayReport(day, till.terminal_id, program.currency, cashiers, unsynced, first, last)
