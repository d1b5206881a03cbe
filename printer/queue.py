"""The print queue, stored in the till's own SQLite file next to the sale.

A job is keyed by receipt number and copy number (0 for the original, n for the n-th reprint)
and holds the Receipt document itself, so a reprint needs nothing else. States::

    queued -> sending -> printed
                      -> failed      (with a problem code; ``sent`` says whether any byte went out)
    sending, found at start-up      -> uncertain   (the till stopped mid-job: did it print?)

Rules that keep a sale from being lost or printed twice by accident:

- enqueue is idempotent on (receipt_no, copy 0) and can join the caller's transaction, so the
  sale and its print job commit together;
- a job is marked ``sending`` and committed *before* a byte goes out, so after a crash it is
  found ``sending`` and becomes ``uncertain``, never re-sent on its own: the cashier decides
  (:meth:`resolve` or :meth:`reprint`, which prints a copy marked as such);
- a failed job is re-sent only when nothing of it reached the printer (``retry_unsent``) or on
  request (:meth:`retry`);
- the queue never opens its own connection: the caller passes the till's single writer
  connection; every write is ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from printer.document import Receipt
from printer.errors import PrinterError, Problem

SCHEMA = """
CREATE TABLE IF NOT EXISTS print_jobs (
    job_id INTEGER PRIMARY KEY,
    receipt_no TEXT NOT NULL,
    copy INTEGER NOT NULL CHECK (copy >= 0),
    state TEXT NOT NULL
        CHECK (state IN ('queued', 'sending', 'printed', 'failed', 'uncertain')),
    document TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    problem TEXT,
    problem_params TEXT,
    sent INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    printed_at TEXT,
    UNIQUE (receipt_no, copy)
);
CREATE INDEX IF NOT EXISTS print_jobs_by_state ON print_jobs (state, job_id);
"""


class JobState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    PRINTED = "printed"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class Job:
    job_id: int
    receipt_no: str
    copy: int
    state: JobState
    receipt: Receipt
    attempts: int
    problem: Problem | None
    problem_params: dict[str, Any] = field(compare=False)
    sent: bool  # whether any byte of the last attempt may have reached the printer
    created_at: str
    updated_at: str
    printed_at: str | None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PrintQueue:
    """Print jobs in the caller's SQLite connection (the till's single writer)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        clock: Callable[[], dt.datetime] = _utcnow,
        lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        """``lock`` is the lock that serialises the caller's use of ``conn`` (the till's
        ``Database.lock``), held around every read and write of the queue."""
        self.conn = conn
        self.clock = clock
        self.lock: AbstractContextManager[Any] = lock if lock is not None else nullcontext()
        with self._write() as c:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    c.execute(statement)

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def _write(self, join: bool = False) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction, or the caller's own when ``join`` allows it."""
        with self.lock:
            if self.conn.in_transaction:
                if not join:
                    raise RuntimeError("the print queue needs its own transaction here")
                yield self.conn
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self.lock:
            return list(self.conn.execute(sql, args))

    def _now(self) -> str:
        return self.clock().astimezone(dt.UTC).isoformat(timespec="milliseconds")

    # -- reading ------------------------------------------------------------------------------

    _COLUMNS = (
        "job_id, receipt_no, copy, state, document, attempts, problem, problem_params, sent,"
        " created_at, updated_at, printed_at"
    )

    @staticmethod
    def _job(row: tuple[Any, ...]) -> Job:
        return Job(
            job_id=row[0],
            receipt_no=row[1],
            copy=row[2],
            state=JobState(row[3]),
            receipt=Receipt.from_json(row[4]),
            attempts=row[5],
            problem=Problem(row[6]) if row[6] else None,
            problem_params=json.loads(row[7]) if row[7] else {},
            sent=bool(row[8]),
            created_at=row[9],
            updated_at=row[10],
            printed_at=row[11],
        )

    def job(self, job_id: int) -> Job:
        rows = self._rows(f"SELECT {self._COLUMNS} FROM print_jobs WHERE job_id = ?", (job_id,))
        row = rows[0] if rows else None
        if row is None:
            raise PrinterError(Problem.NO_SUCH_JOB, job_id=job_id)
        return self._job(row)

    def jobs(self, receipt_no: str | None = None, state: JobState | None = None) -> list[Job]:
        sql = f"SELECT {self._COLUMNS} FROM print_jobs WHERE 1=1"
        args: list[Any] = []
        if receipt_no is not None:
            sql += " AND receipt_no = ?"
            args.append(receipt_no)
        if state is not None:
            sql += " AND state = ?"
            args.append(state.value)
        return [self._job(r) for r in self._rows(sql + " ORDER BY job_id", args)]

    # -- writing ------------------------------------------------------------------------------

    def enqueue(self, receipt: Receipt) -> Job:
        """Queue the original of a receipt; a second call for the same receipt number returns
        the existing job (whatever its state) and prints nothing more.

        Call it inside the sale's own transaction to commit sale and job together."""
        if receipt.copy:
            raise ValueError("enqueue takes the original; use reprint() for copies")
        now = self._now()
        with self._write(join=True) as c:
            c.execute(
                "INSERT INTO print_jobs (receipt_no, copy, state, document, created_at, updated_at)"
                " VALUES (?, 0, 'queued', ?, ?, ?) ON CONFLICT (receipt_no, copy) DO NOTHING",
                (receipt.receipt_no, receipt.to_json(), now, now),
            )
            row = c.execute(
                f"SELECT {self._COLUMNS} FROM print_jobs WHERE receipt_no = ? AND copy = 0",
                (receipt.receipt_no,),
            ).fetchone()
        return self._job(row)

    def reprint(
        self, receipt_no: str, banner: str | None = None, document: Receipt | None = None
    ) -> Job:
        """Queue a copy of a receipt (marked with its copy banner, never opening the drawer).

        ``document``: the receipt to copy when none was ever queued (a sale recorded without
        printing, rebuilt from its record). What prints is still a copy: the sale was made
        before, whether or not a paper of it ever came out."""
        with self._write() as c:
            row = c.execute(
                "SELECT document, copy FROM print_jobs WHERE receipt_no = ? ORDER BY copy LIMIT 1",
                (receipt_no,),
            ).fetchone()
            last = c.execute(
                "SELECT max(copy) FROM print_jobs WHERE receipt_no = ?", (receipt_no,)
            ).fetchone()
            if row is None and document is None:
                raise PrinterError(Problem.NO_SUCH_JOB, receipt_no=receipt_no)
            source = Receipt.from_json(row[0]) if row is not None else document
            assert source is not None
            copy = int(last[0]) + 1 if last[0] is not None else 1
            receipt = source.as_copy(copy, banner)
            now = self._now()
            cur = c.execute(
                "INSERT INTO print_jobs (receipt_no, copy, state, document, created_at, updated_at)"
                " VALUES (?, ?, 'queued', ?, ?, ?)",
                (receipt_no, copy, receipt.to_json(), now, now),
            )
            job_id = cur.lastrowid
        assert job_id is not None
        return self.job(job_id)

    def recover(self) -> list[Job]:
        """At start-up: jobs left ``sending`` by a crash become ``uncertain`` (not re-sent)."""
        with self._write() as c:
            ids = [r[0] for r in c.execute("SELECT job_id FROM print_jobs WHERE state = 'sending'")]
            c.execute(
                "UPDATE print_jobs SET state = 'uncertain', sent = 1, updated_at = ?"
                " WHERE state = 'sending'",
                (self._now(),),
            )
        return [self.job(i) for i in ids]

    def claim_next(self) -> Job | None:
        """The oldest queued job, marked ``sending`` and committed before any byte goes out."""
        with self._write() as c:
            row = c.execute(
                "SELECT job_id FROM print_jobs WHERE state = 'queued' ORDER BY job_id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            c.execute(
                "UPDATE print_jobs SET state = 'sending', attempts = attempts + 1,"
                " problem = NULL, problem_params = NULL, sent = 0, updated_at = ?"
                " WHERE job_id = ?",
                (self._now(), row[0]),
            )
        return self.job(row[0])

    def finish(self, job_id: int, error: PrinterError | None = None) -> Job:
        """Record how a ``sending`` job ended."""
        now = self._now()
        with self._write() as c:
            if error is None:
                c.execute(
                    "UPDATE print_jobs SET state = 'printed', printed_at = ?, updated_at = ?"
                    " WHERE job_id = ? AND state = 'sending'",
                    (now, now, job_id),
                )
            else:
                c.execute(
                    "UPDATE print_jobs SET state = 'failed', problem = ?, problem_params = ?,"
                    " sent = ?, updated_at = ? WHERE job_id = ? AND state = 'sending'",
                    (
                        error.problem.value,
                        json.dumps(error.params, default=str),
                        int(error.sent),
                        now,
                        job_id,
                    ),
                )
        return self.job(job_id)

    def retry(self, job_id: int) -> Job:
        """The cashier asks to send a failed job again (the same copy number)."""
        with self._write() as c:
            cur = c.execute(
                "UPDATE print_jobs SET state = 'queued', updated_at = ?"
                " WHERE job_id = ? AND state = 'failed'",
                (self._now(), job_id),
            )
        if cur.rowcount != 1:
            job = self.job(job_id)
            raise PrinterError(Problem.JOB_NOT_RETRYABLE, job_id=job_id, state=job.state.value)
        return self.job(job_id)

    def resolve(self, job_id: int, printed: bool) -> Job:
        """The cashier looked at an ``uncertain`` job: it printed (done) or it did not (send)."""
        with self._write() as c:
            if printed:
                cur = c.execute(
                    "UPDATE print_jobs SET state = 'printed', printed_at = ?, updated_at = ?"
                    " WHERE job_id = ? AND state = 'uncertain'",
                    (self._now(), self._now(), job_id),
                )
            else:
                cur = c.execute(
                    "UPDATE print_jobs SET state = 'queued', updated_at = ?"
                    " WHERE job_id = ? AND state = 'uncertain'",
                    (self._now(), job_id),
                )
        if cur.rowcount != 1:
            job = self.job(job_id)
            raise PrinterError(Problem.JOB_NOT_RETRYABLE, job_id=job_id, state=job.state.value)
        return self.job(job_id)

    def requeue_unsent(self) -> list[Job]:
        """Failed jobs of which no byte reached the printer go back in the queue (safe)."""
        with self._write() as c:
            ids = [
                r[0]
                for r in c.execute(
                    "SELECT job_id FROM print_jobs WHERE state = 'failed' AND sent = 0"
                    " AND problem IN ('offline', 'out_of_paper', 'cover_open', 'timeout')"
                )
            ]
            c.executemany(
                "UPDATE print_jobs SET state = 'queued', updated_at = ? WHERE job_id = ?",
                [(self._now(), i) for i in ids],
            )
        return [self.job(i) for i in ids]

    # -- the worker loop ----------------------------------------------------------------------

    def process(
        self, printer: Any, encode: Callable[[Receipt], bytes], retry_unsent: bool = True
    ) -> list[Job]:
        """Print queued jobs in order until the queue is empty or the printer fails.

        ``printer`` has ``print_job(bytes)`` (a :class:`printer.device.Printer`); ``encode``
        turns a Receipt into its ESC/POS bytes. A job that cannot be rendered fails alone; a
        printer problem stops the loop and leaves the later jobs queued. Returns the jobs it
        finished (printed or failed), in order.
        """
        if retry_unsent:
            self.requeue_unsent()
        done: list[Job] = []
        while (job := self.claim_next()) is not None:
            try:
                data = encode(job.receipt)
            except PrinterError as exc:
                done.append(self.finish(job.job_id, exc))
                continue
            try:
                printer.print_job(data)
            except PrinterError as exc:
                done.append(self.finish(job.job_id, exc))
                break
            done.append(self.finish(job.job_id))
        return done
