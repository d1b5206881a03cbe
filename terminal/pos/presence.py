"""Who was identified at the till a moment ago: the printer bridge gives the next POS receipt
to that member. One member at a time, for a few minutes, taken by the receipt it is for (the
next shopper's receipt is never credited to the last one)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

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


class PresenceTap:
    """The till app's shopper-display hook, passed through, that also notes the member the
    cashier identified on the till's own screen (scan, card, phone) for the printer bridge:
    the POS's next receipt is theirs. A sale the till itself made for them takes it back (the
    POS's receipt must not earn a second time); so does locking the till. Cancelling the
    till's sale screen does not: the cashier rings the basket up on the POS instead."""

    def __init__(self, inner: Any, presence: Presence, clock: Callable[[], dt.datetime]) -> None:
        self.inner = inner
        self.presence = presence
        self.clock = clock

    def member_identified(
        self, display_name: str, language: str, balance: Any, offers: tuple[Any, ...] = ()
    ) -> None:
        self.presence.identified(str(balance.member_id), self.clock())
        if self.inner is not None:
            self.inner.member_identified(display_name, language, balance, offers)

    def basket_previewed(self, result: Any) -> None:
        if self.inner is not None:
            self.inner.basket_previewed(result)

    def sale_committed(self, result: Any) -> None:
        self.presence.take(self.clock())
        if self.inner is not None:
            self.inner.sale_committed(result)

    def cleared(self) -> None:
        if self.inner is not None:
            self.inner.cleared()

    def closed(self) -> None:
        self.presence.take(self.clock())
        if self.inner is not None:
            self.inner.closed()

    def stop(self) -> None:
        if self.inner is not None:
            self.inner.stop()
