"""Who was identified at the till a moment ago: the printer bridge gives the next POS receipt
to that member. One member at a time, for a few minutes, taken by the receipt it is for (the
next shopper's receipt is never credited to the last one).

With two POS lanes printing through one till, "the last member" may be the other lane's:
``by_address`` keeps one member per lane instead, a lane being the network address the POS
calls the API and prints from (docs/pos.md, "Which member a printed receipt is for"). The
till's own screen is then no lane: a member the cashier scans there is not taken by receipts."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

DEFAULT_WINDOW_S = 180
SCREEN = ""  # the till's own screen (and, when lanes are not kept apart, every POS)


class Presence:
    def __init__(self, by_address: bool = False, window_s: float = DEFAULT_WINDOW_S) -> None:
        self._lock = threading.Lock()
        self.by_address = by_address
        self.window_s = window_s
        self._members: dict[str, tuple[str, dt.datetime]] = {}

    def _lane(self, address: str | None) -> str:
        return address or SCREEN if self.by_address else SCREEN

    def _fresh(self, at: dt.datetime, now: dt.datetime, window_s: float) -> bool:
        return dt.timedelta(0) <= now - at <= dt.timedelta(seconds=window_s)

    def identified(self, member_id: str, now: dt.datetime, address: str | None = None) -> None:
        """``address``: the POS's, for the API; None for the till's own screen."""
        with self._lock:
            self._members = {  # lanes gone quiet are forgotten: a few POS at most
                lane: (m, at)
                for lane, (m, at) in self._members.items()
                if self._fresh(at, now, self.window_s)
            }
            self._members[self._lane(address)] = (member_id, now)

    def take(
        self, now: dt.datetime, window_s: float | None = None, address: str | None = None
    ) -> str | None:
        """The member identified within the last ``window_s`` seconds (for this address's
        lane when lanes are kept apart), once."""
        with self._lock:
            found = self._members.pop(self._lane(address), None)
        if found is None:
            return None
        member_id, at = found
        return member_id if self._fresh(at, now, window_s or self.window_s) else None


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
        self,
        display_name: str,
        language: str,
        balance: Any,
        offers: tuple[Any, ...] = (),
        referral_code: str = "",
    ) -> None:
        self.presence.identified(str(balance.member_id), self.clock())
        if self.inner is not None:
            self.inner.member_identified(display_name, language, balance, offers, referral_code)

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

    # The shopper's touch input (display/touch.py) passes through as it is.
    @property
    def touch(self) -> bool:
        return bool(self.inner is not None and self.inner.touch)

    @property
    def paired_url(self) -> str:
        return str(self.inner.paired_url) if self.inner is not None else ""

    @property
    def on_shopper(self) -> Any:
        return self.inner.on_shopper if self.inner is not None else None

    @on_shopper.setter
    def on_shopper(self, hook: Any) -> None:
        if self.inner is not None:
            self.inner.on_shopper = hook

    def ask_phone(self) -> None:
        if self.inner is not None:
            self.inner.ask_phone()

    def ask_terms(self, language: str, terms: Any) -> None:
        if self.inner is not None:
            self.inner.ask_terms(language, terms)

    def phone_refused(self) -> None:
        if self.inner is not None:
            self.inner.phone_refused()

    def stop_asking(self) -> None:
        if self.inner is not None:
            self.inner.stop_asking()
