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

import base64
import contextlib
import datetime as dt
import email.utils
import gzip
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import httpx
import msgspec

from loyalty import members, outbox
from loyalty.db import utc_now
from loyalty.errors import BadInput
from loyalty.members import MemberSnapshot
from loyalty.outbox import ChangePage
from loyalty.policy import Authorisation
from loyalty.till import Till
from sync import protocol as p

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
    bytes_sent: int = 0
    bytes_received: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


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
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.till = till
        self.clock = clock  # the till's clock: what it records as the time of each exchange
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
                clock_drift_ms=state.clock_drift_ms,
                bytes_sent=self._c.sent,
                bytes_received=self._c.received,
            )
            return self._c.report

    def pull(self) -> SyncReport:
        """Pull only: head office's changes since the cursor, e.g. before an enrolment, so a
        phone another till enrolled is known here. Raises SyncFailed (``busy`` while another
        sync of this till runs: that sync pulls too)."""
        with one_sync_at_a_time(self.till):
            self._c = _Counters()
            self._pull()
            return self._c.report

    def push(self) -> SyncReport:
        return self.sync(pull=False)

    # -- push ----------------------------------------------------------------------------------
    def _batch(
        self, entries: list[p.WireEntry], enrolments: list[p.WireEnrolment]
    ) -> tuple[bytes, dict[str, str]]:
        body = p.encode(
            p.PushRequest(terminal_id=self.till.terminal_id, entries=entries, enrolments=enrolments)
        )
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
        hand anything unusual (a gap, a conflict, a partial answer) to the careful loop."""
        till = self.till
        first = p.wire_entries(outbox.pending_rows(till, 1))
        enrolments = [p.wire_enrolment(e) for e in outbox.pending_enrolments(till)]
        if not first:
            return not enrolments
        next_seq = first[0].seq
        inflight: list[tuple[Future[p.PushAnswer], list[p.WireEntry]]] = []
        with ThreadPoolExecutor(1, thread_name_prefix="sync-push") as pool:
            try:
                while True:
                    if len(inflight) < 2:
                        entries = p.wire_entries(outbox.rows_from(till, next_seq, self.batch_size))
                        if entries:
                            packed, headers = self._batch(entries, enrolments)
                            enrolments = []
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
                    self._acknowledge(answer, len(entries))
                    if answer.acked_seq < entries[-1].seq:
                        return False
            except SyncFailed as exc:
                for pending, _ in inflight:
                    pending.cancel()
                if exc.code == "seq_gap":
                    return False
                raise

    def _push(self) -> None:
        if self._push_pipelined():
            return
        till = self.till
        resend_from: int | None = None
        enrolments = [p.wire_enrolment(e) for e in outbox.pending_enrolments(till)]
        last_gap: int | None = None
        while True:
            if resend_from is not None:
                entries = p.wire_entries(outbox.rows_from(till, resend_from, self.batch_size))
            else:
                entries = p.wire_entries(outbox.pending_rows(till, self.batch_size))
            if not entries and not enrolments:
                return
            packed, headers = self._batch(entries, enrolments)
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
            enrolments = []
            self._acknowledge(answer, len(entries))
            conflict = next((r for r in answer.results if r.status == "conflict"), None)
            if conflict is not None:
                raise SyncFailed("entry_conflict", seq=conflict.seq, entry_id=conflict.entry_id)
            if resend_from is not None:
                resend_from = answer.acked_seq + 1
                if not entries or resend_from > entries[-1].seq:
                    # Caught up with what head office lacked: back to the outbox.
                    pending = outbox.pending_entries(till, 1)
                    if not pending or pending[0].seq <= resend_from:
                        resend_from = None
            elif entries and answer.acked_seq < entries[0].seq:
                raise SyncFailed("no_progress", acked_seq=answer.acked_seq)

    def _acknowledge(self, answer: p.PushAnswer, sent: int) -> None:
        server_time = p.parse_time(answer.server_time)
        acked = outbox.acknowledge(
            self.till,
            answer.acked_seq,
            _snapshots(answer.members),
            enrolments=answer.enrolments,
            server_time=server_time,
            now=self.clock(),
        )
        r = self._c.report
        self._c.report = replace(
            r,
            pushed=r.pushed + acked,
            batches=r.batches + 1,
            duplicates=r.duplicates + sum(1 for x in answer.results if x.status == "duplicate"),
            overdrafts=r.overdrafts + sum(1 for x in answer.results if x.overdraft),
            enrolments=r.enrolments + len(answer.enrolments),
            members=r.members + len(answer.members),
        )
        self._progress("push", entries_left=outbox.state(self.till).outbox)

    # -- pull ----------------------------------------------------------------------------------
    def _pull(self) -> None:
        cursor = outbox.state(self.till).cursor
        restarts = 0
        while True:
            params: dict[str, str | int] = {"limit": self.page_size}
            if cursor:
                params["cursor"] = cursor
            try:
                answer: p.ChangesAnswer = self._call(
                    "GET", "/v1/changes", p.ChangesAnswer, params=params
                )
            except SyncFailed as exc:
                if exc.code != "cursor_expired" or restarts:
                    raise
                outbox.forget_cursor(self.till)
                cursor, restarts = None, restarts + 1
                self._c.report = replace(self._c.report, restarted=True)
                continue
            page = _page(answer)
            result = outbox.apply_page(self.till, page, self.clock())
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


def _page(a: p.ChangesAnswer) -> ChangePage:
    keys, revoked = [], []
    for k in a.public_keys:
        try:
            raw = base64.b64decode(k.public_key, validate=True)
        except ValueError:
            continue
        if k.revoked:
            revoked.append(k.key_id)
        elif len(raw) == 32:
            keys.append((k.key_id, raw))
    return ChangePage(
        cursor=a.cursor,
        members=tuple(_snapshots(a.members)),
        erased=tuple(a.erased),
        programs=tuple(a.programs),
        public_keys=tuple(keys),
        revoked_keys=tuple(revoked),
        denied=tuple((d.code, d.reason) for d in a.denied if d.active),
        undenied=tuple(d.code for d in a.denied if not d.active),
        server_time=p.parse_time(a.server_time),
        complete=not a.more,
        phone_keys=tuple((k.key_id, k.key) for k in a.phone_keys),
    )


def token_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / "headoffice.token"


def save_token(data_dir: str | Path, token: str) -> Path:
    """Keep the till's head-office token beside its database, readable by its owner only."""
    path = token_path(data_dir)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load_token(data_dir: str | Path) -> str | None:
    try:
        return token_path(data_dir).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def register_till(
    base_url: str,
    terminal_id: str,
    admin_token: str,
    *,
    replace: bool = False,
    timeouts: Timeouts = Timeouts(),
    transport: httpx.BaseTransport | None = None,
) -> str:
    """Ask head office for this till's own token (``till init --headoffice URL`` calls this,
    then ``save_token``). Raises SyncFailed (``till_exists``, ``admin_only``, network codes)."""
    body = p.encode(p.TillRequest(terminal_id, replace))
    with httpx.Client(
        base_url=base_url.rstrip("/"), timeout=timeouts.httpx(), transport=transport,
        trust_env=False, headers={"Authorization": f"Bearer {admin_token}"},
    ) as http:  # fmt: skip
        try:
            resp = http.post("/v1/tills", content=body, headers=_JSON)
        except httpx.TimeoutException:
            raise SyncFailed("timeout") from None
        except httpx.TransportError:
            raise SyncFailed("unreachable") from None
    if resp.status_code != 201:
        problem = _problem(resp.content)
        params = dict(problem.params) if problem else {}
        raise SyncFailed(problem.code if problem else f"http_{resp.status_code}", **params)
    token: p.TillToken = _decoder(p.TillToken).decode(resp.content)
    return token.token
