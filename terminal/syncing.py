"""Head office as the till app's ``TillServices.sync`` hook: a SyncClient and its background
runner, reporting to the app as messages through ``listener`` (the app's post_message).

Sales ask for a debounced sync; F5 asks for one now; online authorisation holds points at head
office before a redemption and captures them after the sale commits."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from loyalty.policy import Authorisation
from loyalty.till import Till
from sync.client import Progress, SyncClient, SyncFailed, Timeouts
from sync.credentials import load_token
from sync.runner import BackgroundSync, SyncStatus
from terminal.config import Config

Listener = Callable[[Any], object]  # the app's post_message (thread-safe)


# Seconds, each a setting of the till's config file. Background syncs may wait longer for an
# answer (a batch is being stored); calls a cashier waits for (F8's hold, its capture, the
# look-up before an enrolment) are short and tried at most twice, so a hung head office costs
# seconds, and the status line says offline at the first request that went unanswered.
DEFAULT_CONNECT_S = 3.0
DEFAULT_SYNC_TIMEOUT_S = 10.0
DEFAULT_ONLINE_CALL_TIMEOUT_S = 4.0


def timeouts(config: Config) -> tuple[Timeouts, Timeouts]:
    """(background sync, calls a cashier waits for) from the settings ``headoffice_connect_s``,
    ``headoffice_timeout_s`` and ``online_call_timeout_s``."""
    raw = config.raw

    def seconds(key: str, default: float) -> float:
        try:
            value = float(raw.get(key, default))
        except (TypeError, ValueError):
            return default
        return value if 0 < value <= 600 else default

    connect = seconds("headoffice_connect_s", DEFAULT_CONNECT_S)
    sync = seconds("headoffice_timeout_s", DEFAULT_SYNC_TIMEOUT_S)
    call = seconds("online_call_timeout_s", DEFAULT_ONLINE_CALL_TIMEOUT_S)
    return (
        Timeouts(connect=connect, read=sync, write=sync, pool=connect),
        Timeouts(connect=min(connect, call), read=call, write=call, pool=min(connect, call)),
    )


class HeadOfficeLink:
    def __init__(
        self,
        client: SyncClient,
        runner_options: dict[str, Any] | None = None,
        calls: SyncClient | None = None,
    ) -> None:
        """``client`` syncs in the background; ``calls`` (short timeouts, one retry) serves
        what a cashier waits for; without it the sync client does both."""
        self.client = client
        self.calls = calls or client
        self.stopping = threading.Event()  # set at close: the retries' waits end
        self.listener: Listener | None = None
        client.on_progress = self._progress
        self.runner = BackgroundSync(client, on_status=self._status, **(runner_options or {}))

    @classmethod
    def from_config(cls, till: Till, config: Config) -> HeadOfficeLink | None:
        """None when no head office is configured or this till has no token yet."""
        token = load_token(config.data_dir)
        if not config.headoffice or not token:
            return None
        sync, call = timeouts(config)
        stopping = threading.Event()

        def backoff(seconds: float) -> None:
            """The sync's wait between retries, cut short when the till stops: the retries
            end (SyncFailed) instead of outliving the till's database."""
            if stopping.wait(seconds):
                raise SyncFailed("stopped")

        link = cls(
            SyncClient(till, config.headoffice, token, timeouts=sync, sleep=backoff),
            calls=SyncClient(till, config.headoffice, token, timeouts=call, max_attempts=2),
        )
        link.stopping = stopping
        return link

    def start(self, listener: Listener) -> None:
        self.listener = listener
        self.runner.start()
        self.runner.sync_now("start")

    # -- what the app calls ------------------------------------------------------------------
    def sync_now(self) -> None:
        self.runner.sync_now("manual")

    def sale_committed(self) -> None:
        self.runner.sale_committed()

    def authorise(self, member_id: str, points: int) -> Authorisation:
        """Hold the points at head office (raises SyncFailed when it is out of reach or
        refuses, e.g. another channel spent them)."""
        return self.calls.authorise(member_id, points)

    def refresh_members(self) -> bool:
        """Before an enrolment: bring head office's members up to date (see refresh_members);
        one attempt, so an enrolment never waits out the sync's retries."""
        try:
            self.calls.pull(attempts=1)
        except SyncFailed:
            return False
        return True

    def capture(self, authorisation: Authorisation, receipt_no: str) -> None:
        # A failed capture lets the hold expire; the sale's entries still reach head office.
        with contextlib.suppress(SyncFailed):
            self.calls.capture(authorisation, receipt_no)

    def close(self) -> None:
        self.stopping.set()
        self.runner.stop()
        self.client.close()
        if self.calls is not self.client:
            self.calls.close()

    # -- from the sync threads ---------------------------------------------------------------
    def _emit(self, event: object) -> None:
        if self.listener is not None:
            self.listener(event)

    def _progress(self, progress: Progress) -> None:
        from terminal.app import messages as m

        if progress.phase == "push":
            self._emit(m.SyncProgressed(progress.entries_left, progress.bytes_sent))
        elif progress.phase == "retry":  # a request went unanswered: offline until one is
            self._emit(m.DeviceStateChanged("headoffice", "offline"))

    def _status(self, status: SyncStatus) -> None:
        from terminal.app import messages as m

        if status.state == "syncing":
            self._emit(m.SyncStarted())
        elif status.state == "synced":
            report = status.report
            if report is None:
                self._emit(m.SyncCompleted(0, 0))
                return
            lost = 0
            if report.restored_from_backup:  # what `till sync` says too (terminal/commands)
                lost = int(self.client.till.db.meta("restored_lost") or "0")
            self._emit(
                m.SyncCompleted(
                    report.pushed,
                    report.members,
                    held=report.held_by_headoffice,
                    restored=report.restored_from_backup,
                    lost=lost,
                )
            )
        elif status.state == "failed":
            manual = status.reason == "manual"
            self._emit(m.SyncFailed(status.code or "other", manual, dict(status.params)))


def refresh_members(till: Till, config: Config) -> bool:
    """Pull head office's changes once, without retrying, so an enrolment sees every member
    head office knows (a phone enrolled at another till is then refused here). False when there
    is no head office, no token, or it is out of reach: the enrolment goes on offline and head
    office merges a duplicate later."""
    token = load_token(config.data_dir)
    if not config.headoffice or not token:
        return False
    try:
        with SyncClient(till, config.headoffice, token, max_attempts=1) as client:
            client.pull()
    except SyncFailed:
        return False
    return True
