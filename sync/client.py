"""The till's sync client: push the outbox, then pull head office's changes; and online
redemption (hold, capture, release).

- Push: unacknowledged entries in ``seq`` order, in gzip batches, each with an Idempotency-Key
  derived from its body (so a retry, even after a restart, sends the same key). The outbox
  shrinks only from head office's answer, in one transaction with the balances it brought.
  ``seq_gap`` is repaired by resending from the seq head office expects.
- Pull: pages after the stored cursor, each applied with its cursor in one transaction. An
  expired cursor makes the till forget it and start over from a snapshot.
- Every request has explicit timeouts; failures are retried with full-jitter exponential
  backoff that honours Retry-After. One sync at a time per till (a lock in this process and a
  lock file beside the till's database for other processes).

Nothing here is text for people: failures are ``SyncFailed(code, **params)`` and progress is a
``Progress`` value handed to ``on_progress`` (from the thread that runs ``sync()``, or for a
"retry" from the push's sender thread: hand it to the UI thread, never touch widgets from it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import gzip
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx
import msgspec

from loyalty import members, offers, outbox
from loyalty.db import utc_now
from loyalty.errors import BadInput
from loyalty.members import MemberSnapshot
from loyalty.policy import Authorisation
from loyalty.till import Till
from sync import protocol as p
from sync.protocol_offers import WirePurchase

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("sync.client")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. ``read`` covers a whole batch being stored, so it is generous."""

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 5.0

    def httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


@dataclass(frozen=True, slots=True)
class Progress:
    phase: Literal["push", "pull", "retry"]
    entries_left: int = 0  # in the outbox, after this step
    entries_sent: int = 0  # acknowledged in this sync so far
    members_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    attempt: int = 0  # for "retry": which attempt failed
    code: str | None = None  # for "retry": why
    delay: float = 0.0  # for "retry": how long before the next attempt


@dataclass(frozen=True, slots=True)
class SyncReport:
    pushed: int = 0  # entries head office acknowledged in this sync
    batches: int = 0
    duplicates: int = 0  # entries head office already held (an earlier answer was lost)
    overdrafts: int = 0  # offline redemptions head office flagged as overdrawing a balance
    enrolments: int = 0
    members: int = 0  # member snapshots applied (push answers and pulls)
    erased: int = 0
    pages: int = 0
    program_version: str | None = None  # a new program now in force
    restarted: bool = False  # the cursor had expired: the till pulled a new snapshot
    outbox: int = 0  # entries still waiting
    clock_drift_ms: int | None = None  # this till's clock minus head office's
    restored_from_backup: bool = False  # head office held other entries at this till's seqs
    held: int = 0  # entries head office holds without crediting them, answered in this sync
    held_by_headoffice: int = 0  # all such entries of this till
    epoch: int | None = None  # the chain segment head office started for it, if it did
    bytes_sent: int = 0
    bytes_received: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


class _Forked(Exception):
    """Head office holds entries at this till's seqs that the till does not: it was restored
    from a backup (handled inside the push: a new chain segment)."""


# Chain segments a push may ask for before it gives up (one is the usual restore; a second
# covers a restore from a backup older than the last segment).
_MAX_EPOCHS = 3


class SyncFailed(Exception):
    """A sync or request that did not complete: a code and its parameters."""

    def __init__(self, code: str, retry_after: float | None = None, **params: Any) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = params
        self.retry_after = retry_after


def full_jitter(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """AWS's "full jitter": uniform in [0, min(cap, base * 2**attempt))."""
    return float(rand() * min(cap, base * 2**attempt))


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or utc_now())).total_seconds())


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@contextlib.contextmanager
def one_sync_at_a_time(till: Till) -> Iterator[None]:
    """Refuses (``SyncFailed("busy")``) while another sync of this till runs, in this process
    or another."""
    path = till.db.path
    with _locks_guard:
        lock = _locks.setdefault(path, threading.Lock())
    if not lock.acquire(blocking=False):
        raise SyncFailed("busy")
    handle = None
    try:
        if path != ":memory:" and fcntl is not None:
            handle = open(f"{path}.sync-lock", "a+b")  # noqa: SIM115 - held for the whole sync
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise SyncFailed("busy") from None
        yield
    finally:
        if handle is not None:
            handle.close()
        lock.release()


_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def _decoder(kind: Any) -> msgspec.json.Decoder[Any]:
    if kind not in _decoders:
        _decoders[kind] = msgspec.json.Decoder(kind)
    return _decoders[kind]


@dataclass
class _Counters:
    sent: int = 0
    received: int = 0
    report: SyncReport = field(default_factory=SyncReport)


class SyncClient:
    """Push then pull for one till. Thread-safe; ``sync()`` runs one at a time per till."""

    def __init__(
        self,
        till: Till,
        base_url: str,
        token: str,
        *,
        batch_size: int = p.MAX_BATCH,
        page_size: int = 2000,
        timeouts: Timeouts = Timeouts(),
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_cap: float = 60.0,
        retry_after_cap: float = 300.0,
        transport: httpx.BaseTransport | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        gzip_level: int = 2,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.till = till
        # The till's clock, what it records as the time of each exchange; None: the till's own
        # default clock (loyalty's), so a till whose clock is moved moves its sync with it.
        self.clock = clock
        self.batch_size = max(1, min(batch_size, p.MAX_BATCH))
        self.page_size = max(1, min(page_size, p.MAX_PAGE))
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self.on_progress = on_progress
        self.sleep = sleep
        self.rand = rand
        self.gzip_level = gzip_level
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "loyalty-till"},
            timeout=timeouts.httpx(),
            transport=transport,
            trust_env=False,
        )
        self._c = _Counters()
        self._epoch = 0

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the whole sync ------------------------------------------------------------------------
    def sync(self, pull: bool = True) -> SyncReport:
        """Push first, then pull. Raises SyncFailed; what was done before a failure stays done
        (each acknowledged batch and each applied page committed on its own)."""
        with one_sync_at_a_time(self.till):
            self._c = _Counters()
            self._push()
            if pull:
                self._pull()
            state = outbox.state(self.till)
            self._c.report = replace(
                self._c.report,
                outbox=state.outbox,
                held_by_headoffice=state.held,
                clock_drift_ms=state.clock_drift_ms,
                bytes_sent=self._c.sent,
                bytes_received=self._c.received,
            )
            return self._c.report

    def pull(self, attempts: int | None = None) -> SyncReport:
        """Pull only: head office's changes since the cursor, e.g. before an enrolment, so a
        phone another till enrolled is known here (``attempts=1``: a cashier is waiting, so no
        retries). Raises SyncFailed (``busy`` while another sync of this till runs: that sync
        pulls too)."""
        with one_sync_at_a_time(self.till):
            self._c = _Counters()
            self._pull(attempts)
            return self._c.report

    def push(self) -> SyncReport:
        return self.sync(pull=False)

    # -- push ----------------------------------------------------------------------------------
    def _batch(self, entries: list[p.WireEntry], enrolments: list[p.WireEnrolment],
               rehashes: list[p.WirePhoneRehash]) -> tuple[bytes, dict[str, str]]:  # fmt: skip
        body = p.encode(
            p.PushRequest(
                terminal_id=self.till.terminal_id, entries=entries, enrolments=enrolments,
                phone_rehashes=rehashes, epoch=self._epoch,
                purchases=_purchases(self.till, entries),
            )
        )  # fmt: skip
        headers = {
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
            p.IDEMPOTENCY_HEADER: p.idempotency_key(body),
        }
        return gzip.compress(body, self.gzip_level, mtime=0), headers

    def _push_pipelined(self) -> bool:
        """The usual case, two batches at a time: while head office stores one, the till
        records the answer to the one before and prepares the next. Requests still go one after
        the other on one connection, so head office sees them in seq order. Returns False to
        hand anything unusual (a gap, a partial answer) to the careful loop; raises _Forked
        when head office holds other entries at this till's seqs."""
        till = self.till
        first = p.wire_entries(outbox.pending_rows(till, 1))
        enrolments = [p.wire_enrolment(e) for e in outbox.pending_enrolments(till)]
        rehashes = [p.wire_rehash(r) for r in outbox.pending_rehashes(till)]
        if not first:
            return not (enrolments or rehashes)
        next_seq = first[0].seq
        inflight: list[tuple[Future[p.PushAnswer], list[p.WireEntry]]] = []
        with ThreadPoolExecutor(1, thread_name_prefix="sync-push") as pool:
            try:
                while True:
                    if len(inflight) < 2:
                        entries = p.wire_entries(outbox.rows_from(till, next_seq, self.batch_size))
                        if entries:
                            packed, headers = self._batch(entries, enrolments, rehashes)
                            enrolments, rehashes = [], []
                            future = pool.submit(
                                self._call, "POST", "/v1/push", p.PushAnswer,
                                content=packed, headers=headers,
                            )  # fmt: skip
                            inflight.append((future, entries))
                            next_seq = entries[-1].seq + 1
                            continue
                    if not inflight:
                        return True
                    future, entries = inflight.pop(0)
                    answer = future.result()
                    self._acknowledge(answer, entries)
                    if answer.acked_seq < entries[-1].seq:
                        return False
            except (SyncFailed, _Forked) as exc:
                for pending, _ in inflight:
                    pending.cancel()
                if isinstance(exc, SyncFailed) and exc.code == "seq_gap":
                    return False
                raise

    def _push(self) -> None:
        """Push the outbox; when head office says this till forked from what it holds (a
        restore from a backup), ask for a new chain segment and push on in it."""
        for _ in range(_MAX_EPOCHS):
            self._epoch = outbox.epoch(self.till)
            try:
                if not self._push_pipelined():
                    self._push_careful()
                return
            except _Forked:
                self._new_epoch()
            except SyncFailed as exc:
                if exc.code != "epoch_stale":
                    raise
                self._new_epoch()
        raise SyncFailed("restore_unresolved")

    def _new_epoch(self) -> None:
        till = self.till
        refs = [
            p.EntryRef(e.seq, e.entry_id, e.prev_hash, e.hash)
            for e in outbox.pending_entries(till, p.MAX_BATCH)
        ]
        last_seq, last_hash = outbox.last_entry(till)
        body = p.encode(p.EpochRequest(self._epoch, last_seq + 1, last_hash, refs))
        answer: p.EpochAnswer = self._call(
            "POST", "/v1/epochs", p.EpochAnswer, content=body, headers=_JSON
        )
        acked = outbox.start_epoch(
            till, answer.epoch, answer.held, answer.lost, last_receipt_no=answer.last_receipt_no
        )
        r = self._c.report
        restored = r.restored_from_backup or answer.epoch != self._epoch
        self._c.report = replace(
            r, pushed=r.pushed + acked, restored_from_backup=restored, epoch=answer.epoch
        )
        log.warning(
            "head office holds other entries at this till's seqs (restored from a backup?): "
            "chain segment %d from seq %d", answer.epoch, answer.from_seq,
        )  # fmt: skip

    def _push_careful(self) -> None:
        till = self.till
        resend_from: int | None = None
        enrolments = [p.wire_enrolment(e) for e in outbox.pending_enrolments(till)]
        rehashes = [p.wire_rehash(r) for r in outbox.pending_rehashes(till)]
        last_gap: int | None = None
        while True:
            if resend_from is not None:
                entries = p.wire_entries(outbox.rows_from(till, resend_from, self.batch_size))
            else:
                entries = p.wire_entries(outbox.pending_rows(till, self.batch_size))
            if not entries and not enrolments and not rehashes:
                return
            packed, headers = self._batch(entries, enrolments, rehashes)
            try:
                answer: p.PushAnswer = self._call(
                    "POST", "/v1/push", p.PushAnswer, content=packed, headers=headers
                )
            except SyncFailed as exc:
                if exc.code != "seq_gap":
                    raise
                expected = int(exc.params.get("expected_seq", 0))
                if expected < 1 or expected == last_gap:
                    raise SyncFailed("seq_gap_unrepairable", expected_seq=expected) from None
                last_gap = resend_from = expected
                continue
            enrolments, rehashes = [], []
            self._acknowledge(answer, entries)
            if resend_from is not None:
                resend_from = answer.acked_seq + 1
                if not entries or resend_from > entries[-1].seq:
                    # Caught up with what head office lacked: back to the outbox.
                    pending = outbox.pending_entries(till, 1)
                    if not pending or pending[0].seq <= resend_from:
                        resend_from = None
            elif entries and answer.acked_seq < entries[0].seq:
                raise SyncFailed("no_progress", acked_seq=answer.acked_seq)

    def _acknowledge(self, answer: p.PushAnswer, entries: list[p.WireEntry]) -> None:
        """Record an answer: an entry leaves the outbox only when its own result says head
        office holds it (stored now or before) under the same id. Raises _Forked, after
        recording, when head office holds another entry at one of these seqs or holds seqs
        beyond this till's last one."""
        sent = {e.seq: e.entry_id for e in entries}
        mine = [r for r in answer.results if sent.get(r.seq) == r.entry_id]
        confirmed = [r.seq for r in mine if r.status in ("stored", "duplicate", "held")]
        held = [r.entry_id for r in mine if r.status == "held"]
        server_time = p.parse_time(answer.server_time)
        acked = outbox.acknowledge(
            self.till,
            confirmed,
            _snapshots(answer.members),
            enrolments=answer.enrolments,
            server_time=server_time,
            now=self.clock() if self.clock else None,
            held=held,
            phone_rehashes=answer.phone_rehashes,
        )
        r = self._c.report
        self._c.report = replace(
            r,
            pushed=r.pushed + acked,
            batches=r.batches + 1,
            duplicates=r.duplicates + sum(1 for x in answer.results if x.status == "duplicate"),
            overdrafts=r.overdrafts + sum(1 for x in answer.results if x.overdraft),
            held=r.held + len(held),
            enrolments=r.enrolments + len(answer.enrolments),
            members=r.members + len(answer.members),
        )
        self._progress("push", entries_left=outbox.state(self.till).outbox)
        if any(x.status == "conflict" for x in answer.results):
            raise _Forked
        sent_up_to = entries[-1].seq if entries else 0
        if answer.acked_seq > sent_up_to and answer.acked_seq > outbox.last_entry(self.till)[0]:
            raise _Forked

    # -- pull ----------------------------------------------------------------------------------
    def _pull(self, attempts: int | None = None) -> None:
        cursor = outbox.state(self.till).cursor
        restarts = 0
        while True:
            params: dict[str, str | int] = {"limit": self.page_size}
            if cursor:
                params["cursor"] = cursor
            try:
                answer: p.ChangesAnswer = self._call(
                    "GET", "/v1/changes", p.ChangesAnswer, params=params, attempts=attempts
                )
            except SyncFailed as exc:
                if exc.code != "cursor_expired" or restarts:
                    raise
                outbox.forget_cursor(self.till)
                cursor, restarts = None, restarts + 1
                self._c.report = replace(self._c.report, restarted=True)
                continue
            page = p.change_page(answer, _snapshots(answer.members))
            result = outbox.apply_page(self.till, page, self.clock() if self.clock else None)
            r = self._c.report
            self._c.report = replace(
                r,
                members=r.members + result.members,
                erased=r.erased + result.erased,
                pages=r.pages + 1,
                program_version=result.program_version or r.program_version,
            )
            self._progress("pull", members_received=self._c.report.members)
            cursor = answer.cursor
            if not answer.more:
                return

    # -- online redemption ---------------------------------------------------------------------
    def authorise(self, member_id: str, points: int, ttl_seconds: int = 120) -> Authorisation:
        """Hold ``points`` of the member's balance at head office (``SyncFailed`` with
        ``insufficient_points``, ``member_blocked``, ``unknown_member`` or a network code)."""
        body = p.encode(p.HoldRequest(member_id, points, ttl_seconds))
        hold: p.Hold = self._call(
            "POST", "/v1/holds", p.Hold, content=body, headers=_JSON, attempts=2
        )
        return Authorisation(hold.hold_id, hold.member_id, hold.points)

    def capture(self, authorisation: Authorisation, receipt_no: str) -> None:
        """The sale committed: the hold becomes the redemption of this receipt."""
        body = p.encode(p.CaptureRequest(receipt_no))
        path = f"/v1/holds/{authorisation.hold_id}/capture"
        self._call("POST", path, p.Hold, content=body, headers=_JSON)

    def release(self, authorisation: Authorisation) -> None:
        """The sale did not happen: give the points back now rather than at expiry."""
        self._call("POST", f"/v1/holds/{authorisation.hold_id}/release", p.Hold)

    def member(self, member_id: str) -> p.MemberState:
        state: p.MemberState = self._call("GET", f"/v1/members/{member_id}", p.MemberState)
        return state

    # -- one request, retried ------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        kind: Any,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str | int] | None = None,
        attempts: int | None = None,
    ) -> Any:
        attempts = attempts or self.max_attempts
        for attempt in range(attempts):
            retry_after: float | None = None
            try:
                resp = self.http.request(
                    method, path, content=content, headers=headers, params=params
                )
                data = resp.content
            except httpx.TimeoutException:
                failure = SyncFailed("timeout")
            except httpx.TransportError:
                failure = SyncFailed("unreachable")
            else:
                self._c.sent += len(content or b"")
                self._c.received += resp.num_bytes_downloaded
                if 200 <= resp.status_code < 300:
                    try:
                        return _decoder(kind).decode(data)
                    # msgspec raises UnicodeDecodeError for invalid UTF-8 in a string.
                    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
                        raise SyncFailed("protocol_error", status=resp.status_code) from None
                problem = _problem(data)
                retry_after = retry_after_seconds(resp.headers.get("retry-after"))
                code = problem.code if problem else f"http_{resp.status_code}"
                params_ = dict(problem.params) if problem else {}
                params_["status"] = resp.status_code
                failure = SyncFailed(code, retry_after=retry_after, **params_)
                if resp.status_code not in RETRY_STATUSES:
                    raise failure
            if attempt + 1 >= attempts:
                raise failure
            delay = full_jitter(attempt, self.backoff_base, self.backoff_cap, self.rand)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.retry_after_cap))
            self._progress("retry", attempt=attempt + 1, code=failure.code, delay=delay)
            self.sleep(delay)
        raise AssertionError("unreachable")

    def _progress(self, phase: Literal["push", "pull", "retry"], **values: Any) -> None:
        if self.on_progress is None:
            return
        r = self._c.report
        values.setdefault("entries_sent", r.pushed)
        values.setdefault("members_received", r.members)
        self.on_progress(
            Progress(phase, bytes_sent=self._c.sent, bytes_received=self._c.received, **values)
        )


_JSON = {"Content-Type": "application/json"}


def _problem(data: bytes) -> p.Problem | None:
    try:
        problem: p.Problem = _decoder(p.Problem).decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None
    return problem


def _purchases(till: Till, entries: list[p.WireEntry]) -> list[WirePurchase]:
    """The categories the batch's sales bought, for head office's segments (loyalty.offers),
    once head office has said it reads them."""
    if not till.db.meta(offers.TAKES_PURCHASES):
        return []
    sales = [e.receipt_no for e in entries if e.kind == "earn" and e.reason == "base"]
    if not sales:
        return []
    with till.db.read() as conn:
        found = offers.purchases(conn, till.program, [no for no in sales if no])
    return [WirePurchase(m, day, list(categories)) for m, day, categories in found]


def _snapshots(states: list[p.MemberState]) -> list[MemberSnapshot]:
    """Head office's members as snapshots, less any that breaks the member cache's rules (an id
    with a newline, a time that is not one, points beyond the protocol's bound): answers are
    decoded tolerantly, so one bad member is skipped and logged rather than failing every pull
    from then on. The log names only the rule, never the member."""
    out = []
    for state in states:
        snap = p.snapshot(state)
        try:
            members.check_snapshot(snap)
        except BadInput as exc:
            log.warning("skipped a member head office sent: %s", exc.code)
            continue
        out.append(snap)
    return out
