"""The shop day of a time: head office's UTC time text read on the wall clock of the program's
time zone. One function for the reports' summaries (kept in Python as entries are stored) and
for SQLite's reading of the ledger (registered as the SQL function ``shop_day(text, zone)``;
PostgreSQL's ``AT TIME ZONE`` does the same)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=65536)
def _day_of_hour(hour: str, zone: str) -> str | None:
    """The day of a whole UTC hour, or None when the shop's midnight falls inside it (a zone
    a half or quarter hour off UTC)."""
    first = dt.datetime.fromisoformat(hour + ":00:00+00:00").astimezone(_zone(zone))
    last = dt.datetime.fromisoformat(hour + ":59:59+00:00").astimezone(_zone(zone))
    return first.date().isoformat() if first.date() == last.date() else None


@lru_cache(maxsize=65536)
def _day_of_minute(minute: str, zone: str) -> str:
    """Every zone's offset is a whole number of minutes (since 1980): the minute decides."""
    when = dt.datetime.fromisoformat(minute + ":00+00:00")
    return when.astimezone(_zone(zone)).date().isoformat()


def shop_day(text: str, zone: str) -> str:
    """``YYYY-MM-DD`` of the UTC time text ``2026-11-02T22:30:00.000000Z`` in ``zone``."""
    if text < "1980":  # local mean times had offsets in seconds
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(
            _zone(zone)).date().isoformat()  # fmt: skip
    return _day_of_hour(text[:13], zone) or _day_of_minute(text[:16], zone)
