"""The tier's qualifying window, one rule for head office and every till.

- ``calendar_year``: 1 January to 31 December, shop time.
- ``rolling``: the last ``window_days`` days of the shop's calendar, today included. Whole
  days, not hours: a sale counts through the end of the shop day ``window_days - 1`` days after
  it, and leaves the window at the shop's midnight. So head office can tell a till what each
  day contributed (``day_totals``: at most one figure a day) and the till drops each day on its
  own clock at the very moment head office does, offline or not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from loyalty.program import Program

MAX_DAYS = 3660  # the program loader's bound on window_days: at most one figure a day


def window_start(program: Program, now: dt.datetime) -> dt.datetime:
    """The first moment (UTC) whose spend counts for the tier as of ``now``."""
    zone = program.timezone
    today = now.astimezone(zone).date()
    if program.tier_rule.window == "calendar_year":
        first = dt.date(today.year, 1, 1)
    else:
        first = today - dt.timedelta(days=program.tier_rule.window_days - 1)
    return dt.datetime(first.year, first.month, first.day, tzinfo=zone).astimezone(dt.UTC)


def shop_day(program: Program, at: dt.datetime) -> str:
    """The shop's calendar day of a moment, as ISO text ("2026-12-31")."""
    return at.astimezone(program.timezone).date().isoformat()


def day_totals(
    program: Program, contributions: Iterable[tuple[dt.datetime, int]], now: dt.datetime
) -> list[tuple[str, int]]:
    """What each shop day still in the window contributed (spend or points), oldest first;
    days that add up to nothing are left out. Empty for a calendar-year window (a till ages
    that one from the date alone)."""
    if program.tier_rule.window != "rolling":
        return []
    start = window_start(program, now)
    days: dict[str, int] = {}
    for at, amount in contributions:
        if at >= start:
            day = shop_day(program, at)
            days[day] = days.get(day, 0) + amount
    return sorted((d, n) for d, n in days.items() if n)


def still_counting(
    program: Program, days: Sequence[tuple[str, int]], now: dt.datetime
) -> tuple[int, bool]:
    """(what the days still in the window as of ``now`` add up to, whether any has left it)."""
    first = window_start(program, now).astimezone(program.timezone).date().isoformat()
    kept = sum(n for day, n in days if day >= first)
    return kept, any(day < first for day, _ in days)
