"""Sync in the background: a thread that runs ``SyncClient.sync()`` when there is a reason to.

Reasons: a sale committed (debounced: a burst of sales is one sync), the network came back
(``reconnected()``), the heartbeat, the nightly time (spread across tills by a hash of the till
id so a chain's tills do not all call at once), and close of day, which waits until the outbox
is empty. After a failure the next attempt backs off (full jitter) but never later than the
heartbeat. Whoever shows the state passes ``on_status``; it is called from the sync thread.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from loyalty import outbox
from loyalty.db import utc_now
from sync.client import SyncClient, SyncFailed, SyncReport, full_jitter

State = Literal["idle", "syncing", "synced", "failed"]


@dataclass(frozen=True, slots=True)
class SyncStatus:
    state: State
    outbox: int
    reason: str | None = None  # what started the sync: sale, reconnect, heartbeat, nightly, ...
    code: str | None = None  # for failed: SyncFailed.code
    params: dict[str, Any] = field(default_factory=dict)
    report: SyncReport | None = None
    last_synced_at: dt.datetime | None = None
    next_at: dt.datetime | None = None
    clock_drift_ms: int | None = None


def nightly_offset(terminal_id: str, window: dt.timedelta) -> dt.timedelta:
    """Where in the nightly window this till syncs: a stable hash of its id."""
    seconds = max(1, int(window.total_seconds()))
    digest = hashlib.sha256(terminal_id.encode()).digest()
    return dt.timedelta(seconds=int.from_bytes(digest[:8], "big") % seconds)


def next_nightly(
    now: dt.datetime, terminal_id: str, start: dt.time, window: dt.timedelta, tz: dt.tzinfo
) -> dt.datetime:
    """The next nightly sync time after ``now`` (aware UTC), in the shop's time zone."""
    local = now.astimezone(tz)
    offset = nightly_offset(terminal_id, window)
    day = local.date()
    for _ in range(3):
        at = dt.datetime.combine(day, start, tzinfo=tz) + offset
        if at > local:
            return at.astimezone(dt.UTC)
        day += dt.timedelta(days=1)
    raise AssertionError("unreachable")


class BackgroundSync:
    def __init__(
        self,
        client: SyncClient,
        *,
        debounce: float = 3.0,
        max_delay: float = 30.0,
        heartbeat: float = 300.0,
        nightly_start: dt.time = dt.time(2, 0),
        nightly_window: dt.timedelta = dt.timedelta(hours=2),
        timezone: dt.tzinfo | None = None,
        on_status: Callable[[SyncStatus], None] | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.till = client.till
        self.debounce = debounce
        self.max_delay = max_delay
        self.heartbeat = heartbeat
        self.nightly_start = nightly_start
        self.nightly_window = nightly_window
        self.tz = timezone or _program_zone(client)
        self.on_status = on_status
        self.clock = clock
        self.rand = rand
        self._cv = threading.Condition()
        self._due: dt.datetime | None = None
        self._reason: str | None = None
        self._first_request: dt.datetime | None = None
        self._stop = False
        self._failures = 0
        self._thread: threading.Thread | None = None
        self._runs = 0
        self.status = SyncStatus("idle", outbox.state(self.till).outbox)
        now = clock()
        self._heartbeat_at = now + dt.timedelta(seconds=heartbeat)
        self._nightly_at = next_nightly(
            now, self.till.terminal_id, nightly_start, nightly_window, self.tz
        )

    # -- what the app calls ----------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="sync", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def sale_committed(self) -> None:
        """Debounced: the sync starts ``debounce`` s after the last of a burst of sales, and at
        most ``max_delay`` s after the first."""
        now = self.clock()
        with self._cv:
            if self._first_request is None:
                self._first_request = now
            due = min(
                now + dt.timedelta(seconds=self.debounce),
                self._first_request + dt.timedelta(seconds=self.max_delay),
            )
            self._request(due, "sale", debounced=True)

    def reconnected(self) -> None:
        with self._cv:
            self._request(self.clock(), "reconnect")

    def sync_now(self, reason: str = "manual") -> None:
        with self._cv:
            self._request(self.clock(), reason)

    def close_of_day(self, timeout: float = 120.0) -> SyncStatus:
        """Sync until the outbox is empty (or ``timeout`` s passed); returns the last status.
        Blocks the caller; the background thread does the work."""
        deadline = self.clock() + dt.timedelta(seconds=timeout)
        with self._cv:
            runs = self._runs
            self._request(self.clock(), "close_of_day")
            while True:
                if self._runs > runs and self.status.state == "synced" and not self.status.outbox:
                    return self.status
                if self._runs > runs and self.status.state == "synced":
                    runs = self._runs  # more sales came in: go again
                    self._request(self.clock(), "close_of_day")
                left = (deadline - self.clock()).total_seconds()
                if left <= 0:
                    return self.status
                self._cv.wait(min(left, 1.0))

    # -- the thread --------------------------------------------------------------------------
    def _request(self, due: dt.datetime, reason: str, debounced: bool = False) -> None:
        # The earliest request wins, except that a later sale moves a sale's own due time.
        if self._due is None or due < self._due or (debounced and self._reason == "sale"):
            self._due, self._reason = due, reason
        self._cv.notify_all()

    def _next(self, now: dt.datetime) -> tuple[dt.datetime, str]:
        options = [(self._heartbeat_at, "heartbeat"), (self._nightly_at, "nightly")]
        if self._due is not None:
            options.append((self._due, self._reason or "request"))
        return min(options, key=lambda o: o[0])

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._stop:
                    now = self.clock()
                    at, reason = self._next(now)
                    wait = (at - now).total_seconds()
                    if wait <= 0:
                        break
                    self._cv.wait(min(wait, 60.0))
                if self._stop:
                    return
                self._due = self._first_request = None
                if reason == "nightly":
                    self._nightly_at = next_nightly(
                        self.clock(), self.till.terminal_id, self.nightly_start,
                        self.nightly_window, self.tz,
                    )  # fmt: skip
                self._set(SyncStatus("syncing", self.status.outbox, reason))
            self._run(reason)

    def _run(self, reason: str) -> None:
        try:
            report = self.client.sync()
        except SyncFailed as exc:
            status = self._failed(reason, exc.code, exc.params, exc.retry_after)
        except Exception as exc:  # a bug or a broken database: report it, keep the till up
            status = self._failed(reason, "internal_error", {"error": type(exc).__name__}, None)
        else:
            self._failures = 0
            now = self.clock()
            status = SyncStatus(
                "synced", report.outbox, reason, report=report, last_synced_at=now,
                next_at=now + dt.timedelta(seconds=self.heartbeat),
                clock_drift_ms=report.clock_drift_ms,
            )  # fmt: skip
        with self._cv:
            self._heartbeat_at = self.clock() + dt.timedelta(seconds=self.heartbeat)
            if status.state == "failed" and status.next_at is not None:
                self._heartbeat_at = min(self._heartbeat_at, status.next_at)
            self._runs += 1
            self._set(status)

    def _failed(
        self, reason: str, code: str, params: dict[str, Any], retry_after: float | None
    ) -> SyncStatus:
        self._failures += 1
        delay = full_jitter(self._failures, 2.0, self.heartbeat, self.rand)
        if retry_after is not None:
            delay = max(delay, retry_after)
        state = outbox.state(self.till)
        return SyncStatus(
            "failed", state.outbox, reason, code, dict(params),
            last_synced_at=self.status.last_synced_at,
            next_at=self.clock() + dt.timedelta(seconds=delay),
            clock_drift_ms=state.clock_drift_ms,
        )  # fmt: skip

    def _set(self, status: SyncStatus) -> None:
        self.status = status
        self._cv.notify_all()
        if self.on_status is not None:
            self.on_status(status)


def _program_zone(client: SyncClient) -> dt.tzinfo:
    try:
        zone: ZoneInfo = client.till.program.timezone
    except Exception:
        return dt.UTC
    return zone
