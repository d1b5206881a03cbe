"""Who was identified at the till a moment ago: the printer bridge gives the next POS receipt
to that member. One member at a time, for a few minutes, taken by the receipt it is for (the
next shopper's receipt is never credited to the last one)."""

from __future__ import annotations

import datetime as dt
import threading

DEFAULT_WINDOW_S = 180


class Presence:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._member: tuple[str, dt.datetime] | None = None

    def identified(self, member_id: str, now: dt.datetime) -> None:
        with self._lock:
            self._member = (member_id, now)

    def take(self, now: dt.datetime, window_s: float = DEFAULT_WINDOW_S) -> str | None:
        """The member identified within the last ``window_s`` seconds, once."""
        with self._lock:
            found, self._member = self._member, None
        if found is None:
            return None
        member_id, at = found
        return member_id if dt.timedelta(0) <= now - at <= dt.timedelta(seconds=window_s) else None
