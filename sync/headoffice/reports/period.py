"""What a report covers: a range of whole shop days (the program's time zone), a grouping
(day, ISO week from Monday, calendar month), one shop or the whole chain, and the buckets that
split the range, each as half-open UTC bounds in head office's fixed-width time text.

Bad input is refused with a code and its parameters (terminal/ turns them into text), never a
figure: a reversed range, one that ends after today, one longer than ``MAX_DAYS``, a date that
is not a date, a grouping that is not one, a shop head office never heard of."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from loyalty.db import to_text

GROUPINGS = ("day", "week", "month")
MAX_DAYS = 1096  # three years: a year beside the two before it; ten years is a mistake
DEFAULT_DAYS = 30


class ReportError(Exception):
    """Refused input: ``code`` (``range_reversed``...) and the parameters its message needs
    (the API answers it as a 422 problem; ``till headoffice report`` translates
    ``headoffice.report.<code>``)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params: dict[str, Any] = params


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str  # 2026-11-03 (day), 2026-W45 (week, ISO), 2026-11 (month)
    start: dt.date  # first shop day in the range
    end: dt.date  # last shop day in the range (inclusive)
    lo: str  # UTC text of the first moment
    hi: str  # UTC text just after the last moment


@dataclass(frozen=True, slots=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    by: str
    shop: str | None
    tz: ZoneInfo
    now: dt.datetime
    dialect: str = "sqlite"  # the store's: how SQL puts a time in its bucket (reports/sql.py)

    @property
    def lo(self) -> str:
        return utc_text(self.start, self.tz)

    @property
    def hi(self) -> str:
        return utc_text(self.end + dt.timedelta(days=1), self.tz)

    def buckets(self) -> list[Bucket]:
        out: list[Bucket] = []
        day = self.start
        while day <= self.end:
            key, nxt = _bucket_of(day, self.by)
            last = min(nxt - dt.timedelta(days=1), self.end)
            out.append(Bucket(key, day, last, utc_text(day, self.tz),
                              utc_text(last + dt.timedelta(days=1), self.tz)))  # fmt: skip
            day = last + dt.timedelta(days=1)
        return out


def utc_text(day: dt.date, tz: ZoneInfo) -> str:
    """The UTC time text of the shop day's first moment (midnight in ``tz``)."""
    return to_text(dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC))


def _bucket_of(day: dt.date, by: str) -> tuple[str, dt.date]:
    """The bucket's key and the first day of the next bucket."""
    if by == "day":
        return day.isoformat(), day + dt.timedelta(days=1)
    if by == "week":
        year, week, weekday = day.isocalendar()
        return f"{year}-W{week:02d}", day + dt.timedelta(days=8 - weekday)
    first_next = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return f"{day.year}-{day.month:02d}", first_next


EARLIEST = dt.date(2000, 1, 1)  # before any ledger; keeps every bound a valid UTC time


def parse_day(text: str, field: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or day < EARLIEST or len(text) != 10:
        raise ReportError("bad_date", field=field, value=text[:40])
    return day


def period(
    tz: ZoneInfo,
    now: dt.datetime,
    start: str | None = None,
    end: str | None = None,
    by: str = "day",
    shop: str | None = None,
) -> Period:
    """The period asked for, checked; by default the last ``DEFAULT_DAYS`` shop days to today."""
    today = now.astimezone(tz).date()
    last = parse_day(end, "to") if end else today
    first = parse_day(start, "from") if start else last - dt.timedelta(days=DEFAULT_DAYS - 1)
    first = max(first, EARLIEST)
    if by not in GROUPINGS:
        raise ReportError("bad_grouping", value=by[:40], allowed=", ".join(GROUPINGS))
    if first > last:
        raise ReportError("range_reversed", start=first.isoformat(), end=last.isoformat())
    if last > today:
        raise ReportError("range_in_future", end=last.isoformat(), today=today.isoformat())
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise ReportError("range_too_long", days=days, maximum=MAX_DAYS)
    return Period(first, last, by, shop, tz, now)
