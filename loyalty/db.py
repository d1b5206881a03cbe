"""The till's SQLite file: one writer connection per process, WAL, synchronous=FULL, and
``BEGIN IMMEDIATE`` for every write so a transaction never has to upgrade its lock half-way.

A printed receipt's sale must survive a power cut: with WAL and synchronous=FULL the commit
returns only after the WAL is on disk. One connection (shared by the app's worker threads under
a lock) also keeps us clear of SQLite 3.40's WAL-reset bug, which needs two concurrent writers.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loyalty import schema
from loyalty.files import private_database


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def to_text(when: dt.datetime) -> str:
    """Aware UTC datetime -> fixed-width ISO text that sorts in time order."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("naive datetime: times must be timezone-aware")
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_text(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


class Database:
    """The one connection to the till's file, serialised by a lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            private_database(self.path)  # 0600 before SQLite writes a byte (or its WAL/SHM)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 5000")
        if self.path != ":memory:":
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise sqlite3.OperationalError(f"cannot use WAL for {self.path}: {mode}")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        # Deleted rows are overwritten with zeros, so an erased member's name does not linger
        # in free pages of a till that is later stolen. Debian's SQLite does it by default;
        # other builds (python.org's, Windows) do not.
        conn.execute("PRAGMA secure_delete = ON")
        self.conn = conn
        self.lock = threading.RLock()
        with self.lock:
            schema.apply(conn)

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        with self.lock:
            if self.conn.in_transaction:
                raise RuntimeError("nested write transaction")
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read (one snapshot across several queries)."""
        with self.lock:
            if self.conn.in_transaction:
                yield self.conn
                return
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                if self.conn.in_transaction:
                    self.conn.execute("COMMIT")

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self.lock:
            row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
            return row

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else default


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
