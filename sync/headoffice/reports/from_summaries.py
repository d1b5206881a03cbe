"""The report's figures read from the summaries (summaries.py) instead of the ledger: the same
figures, defined in ledger.py, members.py and cohorts.py, for a few rows per till and shop day.

Members are counted from the ``buyers`` arrays (one member number per purchase): the days a
figure covers are gathered, and numpy counts each member's purchases over them
(``bincount``), so distinct and repeat buyers over a year are exact, with no per-member row."""

from __future__ import annotations

import bisect
import datetime as dt
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sync.headoffice.own_entries import HEADOFFICE
from sync.headoffice.reports import engagement, ledger, summaries
from sync.headoffice.reports.cohorts import months_between
from sync.headoffice.reports.members import ACTIVE_DAYS, buying_figures
from sync.headoffice.reports.period import Period
from sync.headoffice.reports.rates import Rate
from sync.headoffice.reports.sql import day_sql, n, shop_filter
from sync.headoffice.reports.summaries import DAY_FIGURES, zone_of
from sync.headoffice.store import Tx

Numbers = NDArray[np.uint32]


def usable(tx: Tx, period: Period) -> bool:
    """The summaries count shop days of the period's time zone."""
    return zone_of(tx) == str(period.tz)


def days(tx: Tx, period: Period) -> dict[str, list[int]]:
    shop_sql, shop_params = shop_filter(period.shop, "terminal_id")
    sums = ", ".join(f"SUM({c})" for c in DAY_FIGURES)
    return {
        str(d): [n(x) for x in figures]
        for d, *figures in tx.all(
            f"SELECT day, {sums} FROM kpi_days WHERE day >= ? AND day <= ?{shop_sql} GROUP BY day",
            [period.start.isoformat(), period.end.isoformat(), *shop_params],
        )
    }


class Buyers:
    """The member numbers of the purchases on each shop day from ``first`` to the period's
    end (at the period's shop, or anywhere)."""

    def __init__(self, tx: Tx, period: Period, first: dt.date) -> None:
        shop_sql, shop_params = shop_filter(period.shop, "terminal_id")
        parts: dict[str, list[bytes]] = {}
        for d, blob in tx.all(
            "SELECT day, buyers FROM kpi_days WHERE day >= ? AND day <= ? AND purchases > 0 "
            f"AND terminal_id <> ?{shop_sql}",
            [first.isoformat(), period.end.isoformat(), HEADOFFICE, *shop_params],
        ):
            parts.setdefault(str(d), []).append(bytes(blob))
        # All of them in day order, once: the numbers of a run of days are a slice of it.
        self.days = sorted(parts)
        blobs = [b"".join(parts[d]) for d in self.days]
        self.starts = np.cumsum([0] + [len(b) // 4 for b in blobs])
        self.numbers: Numbers = np.frombuffer(b"".join(blobs), dtype="<u4")
        row = tx.one("SELECT MAX(kpi_no) FROM members")
        self.size = n(row[0] if row else None) + 1

    def on(self, first: dt.date, last: dt.date) -> Numbers:
        """Every purchase's member number on the days ``first`` to ``last``."""
        lo = bisect.bisect_left(self.days, first.isoformat())
        hi = bisect.bisect_right(self.days, last.isoformat())
        return self.numbers[int(self.starts[lo]) : int(self.starts[hi])]

    def members(self, first: dt.date, last: dt.date) -> NDArray[np.bool_]:
        """Which members bought on those days (indexed by member number)."""
        seen = np.zeros(self.size, dtype=np.bool_)
        seen[self.on(first, last)] = True
        return seen


def figures(tx: Tx, period: Period) -> tuple[list[dict[str, Any]], dict[str, Any], list[Any]]:
    """The buckets, the period's buying figures and the cohorts, from the summaries."""
    first = min(period.start, period.end - dt.timedelta(days=max(ACTIVE_DAYS) - 1))
    buyers = Buyers(tx, period, first)
    buying = {
        b.key: int(np.count_nonzero(buyers.members(b.start, b.end))) for b in period.buckets()
    }
    buckets = ledger.assemble(period, days(tx, period), buying, ledger.enrolments(tx, period))
    counts = np.bincount(buyers.on(period.start, period.end), minlength=buyers.size)
    active = [
        int(np.count_nonzero(buyers.members(period.end - dt.timedelta(days=d - 1), period.end)))
        for d in ACTIVE_DAYS
    ]
    whole = buying_figures(int(np.count_nonzero(counts)), int(np.count_nonzero(counts >= 2)),
                           int(counts.sum()), active)  # fmt: skip
    return buckets, whole, _cohorts(tx, period, buyers)


def _cohorts(tx: Tx, period: Period, buyers: Buyers) -> list[dict[str, Any]]:
    """cohorts.cohorts, with each month's buyers from the summaries."""
    enrol_sql, enrol_params = shop_filter(period.shop, "m.enrolled_by")
    enrolled, day_params = day_sql(period.dialect, "m.enrolled_at", str(period.tz))
    joined = "string_agg(m.kpi_no::text, ',')" if tx.dialect == "postgresql" else (
        "group_concat(m.kpi_no)")  # fmt: skip
    # Each enrolment month's members' numbers as one text: a year's million enrolments are
    # a dozen rows, not a million read one by one.
    cohort_of: dict[tuple[int, int], NDArray[np.int64]] = {}
    for month, count, nos in tx.all(
        f"SELECT SUBSTR({enrolled}, 1, 7), COUNT(*), {joined} FROM members m WHERE "
        "m.enrolled_at >= ? AND m.enrolled_at < ?" + enrol_sql + " GROUP BY 1",
        [*day_params, period.lo, period.hi, *enrol_params],
    ):
        numbers = np.array(str(nos).split(","), dtype=np.int64) if nos else np.zeros(0, np.int64)
        if len(numbers) != n(count):
            raise RuntimeError("a member without a number (members.kpi_no)")
        cohort_of[(int(str(month)[:4]), int(str(month)[5:7]))] = numbers
    if not cohort_of:
        return []
    bought: dict[tuple[int, int], NDArray[np.bool_]] = {}
    day = period.start
    while day <= period.end:
        nxt = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
        bought[(day.year, day.month)] = buyers.members(day, min(period.end, nxt - dt.timedelta(1)))
        day = nxt
    end = (period.end.year, period.end.month)
    out = []
    for cohort in sorted(cohort_of):
        nos = cohort_of[cohort]
        size = len(nos)
        row = []
        for offset in range(months_between(cohort, end) + 1):
            y, mo = divmod(cohort[0] * 12 + cohort[1] - 1 + offset, 12)
            month = bought.get((y, mo + 1))
            active = int(np.count_nonzero(month[nos])) if month is not None else 0
            row.append(Rate(active, size).as_dict())
        out.append({"cohort": f"{cohort[0]}-{cohort[1]:02d}", "members": size, "months": row})
    return out


def rewards(tx: Tx, period: Period, program: Any) -> dict[str, Any]:
    shop_sql, shop_params = shop_filter(period.shop, "terminal_id")
    rows = [
        (key, figure[len("reward.") :], *((0, x) if figure == "reward.reverse" else (x, 0)), p, a)
        for key, figure, x, p, a in tx.all(
            "SELECT key, figure, SUM(n), SUM(points), SUM(amount_minor) FROM kpi_counts WHERE "
            f"figure LIKE 'reward.%' AND day >= ? AND day <= ?{shop_sql} GROUP BY key, figure",
            [period.start.isoformat(), period.end.isoformat(), *shop_params],
        )
    ]
    return ledger.rewards_of(rows, program)


def engagement_by_action(tx: Tx, period: Period) -> dict[str, Any]:
    shop_sql, shop_params = shop_filter(period.shop, "terminal_id")
    rows = tx.all(
        "SELECT figure, key, SUM(n), SUM(points) FROM kpi_counts WHERE figure IN (?, ?) AND "
        f"day >= ? AND day <= ?{shop_sql} GROUP BY figure, key",
        [engagement.EVENT, engagement.TAKEN, period.start.isoformat(), period.end.isoformat(),
         *shop_params],
    )  # fmt: skip
    return engagement.by_action(
        [(k, c, x) for f, k, c, x in rows if f == engagement.EVENT],
        [(k, c, x) for f, k, c, x in rows if f == engagement.TAKEN],
    )


def tier_moves(tx: Tx, period: Period) -> list[tuple[Any, ...]]:
    """Members' tier changes as head office folded their entries (summaries.tier_moves)."""
    return tx.all(
        "SELECT key, SUM(n) FROM kpi_counts WHERE figure = ? AND day >= ? AND day <= ? "
        "GROUP BY key",
        [summaries.TIER_MOVE, period.start.isoformat(), period.end.isoformat()],
    )


def tier_reviews(tx: Tx, period: Period) -> list[tuple[Any, ...]]:
    return tx.all(
        "SELECT key, SUM(n) FROM kpi_counts WHERE figure = 'tier_review' AND day >= ? AND "
        "day <= ? GROUP BY key",
        [period.start.isoformat(), period.end.isoformat()],
    )


def last_pushes(tx: Tx, shop: str | None) -> dict[str, tuple[str, str]]:
    """Each till's last push and the oldest entry in it (health.py)."""
    where, params = ("WHERE terminal_id = ?", [shop]) if shop else ("", [])
    return {
        str(t): (str(last), str(oldest))
        for t, last, oldest in tx.all(
            f"SELECT terminal_id, last_received, oldest_occurred FROM kpi_tills {where}", params
        )
    }
