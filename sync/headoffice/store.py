"""Head office's database behind one small interface: SQLite (stdlib sqlite3, WAL) by default,
PostgreSQL (psycopg 3) when given a ``postgresql://`` URL.

The SQL is written once, with ``?`` placeholders, and runs on both. Deduplication is the unique
constraints' job (``INSERT ... ON CONFLICT DO NOTHING``), never a check before an insert. The
few places where PostgreSQL's concurrent writers need ordering take row or advisory locks
(``lock_till``, ``lock_members``, ``lock_changes``); SQLite has one writer and needs none.
"""

from __future__ import annotations

import json
import queue
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import msgspec

from loyalty.files import private_database

Row = tuple[Any, ...]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tills (
    terminal_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    id {serial},
    entry_id TEXT NOT NULL UNIQUE,
    terminal_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    member_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    points BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    receipt_no TEXT,
    reverses TEXT,
    reward_id TEXT,
    program_version TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    offline INTEGER NOT NULL,
    cashier_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    received_at TEXT NOT NULL,
    chain_ok INTEGER NOT NULL DEFAULT 1,
    UNIQUE (terminal_id, seq)
);
CREATE INDEX IF NOT EXISTS entries_member ON entries (member_id, id);
CREATE INDEX IF NOT EXISTS entries_receipt ON entries (terminal_id, receipt_no);
CREATE TABLE IF NOT EXISTS held_entries (
    terminal_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    entry_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    reason TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (terminal_id, seq)
);
CREATE TABLE IF NOT EXISTS channels (
    channel_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS till_suspensions (
    terminal_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    suspended_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_acks (
    alert_id BIGINT PRIMARY KEY,
    acknowledged_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS till_epochs (
    terminal_id TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    from_seq BIGINT NOT NULL,
    seq_offset BIGINT NOT NULL,
    base_hash TEXT NOT NULL,
    lost BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (terminal_id, epoch)
);
CREATE TABLE IF NOT EXISTS overdrafts (
    entry_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    flagged_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS push_requests (
    terminal_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    answer {blob} NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (terminal_id, idem_key)
);
CREATE TABLE IF NOT EXISTS members (
    member_id TEXT PRIMARY KEY,
    card_number TEXT UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT 'en',
    phone_hash TEXT,
    birthday TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    erased INTEGER NOT NULL DEFAULT 0,
    balance BIGINT NOT NULL DEFAULT 0,
    pending_json TEXT NOT NULL DEFAULT '[]',
    tier_id TEXT,
    tier_progress BIGINT NOT NULL DEFAULT 0,
    expiring_points BIGINT NOT NULL DEFAULT 0,
    expiring_at TEXT,
    has_purchased INTEGER NOT NULL DEFAULT 0,
    overdrawn INTEGER NOT NULL DEFAULT 0,
    snapshot_at TEXT NOT NULL,
    consent_at TEXT,
    consent_version TEXT,
    enrolled_at TEXT,
    enrolled_by TEXT,
    state_json TEXT
){update_heavy};
CREATE TABLE IF NOT EXISTS holds (
    hold_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    points BIGINT NOT NULL,
    status TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    receipt_no TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS holds_member ON holds (member_id, status);
CREATE INDEX IF NOT EXISTS holds_receipt ON holds (terminal_id, receipt_no);
CREATE TABLE IF NOT EXISTS programs (
    version TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    published_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS public_keys (
    key_id TEXT PRIMARY KEY,
    public_key {blob} NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS deny_list (
    code TEXT PRIMARY KEY,
    reason TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id {serial},
    kind TEXT NOT NULL,
    member_id TEXT NOT NULL,
    day TEXT NOT NULL,
    count BIGINT NOT NULL,
    lim BIGINT NOT NULL,
    terminal_ids TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (kind, member_id, day)
);
CREATE TABLE IF NOT EXISTS once_paid (
    member_id TEXT NOT NULL,
    once_key TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    paid_at TEXT NOT NULL,
    PRIMARY KEY (member_id, once_key)
);
CREATE TABLE IF NOT EXISTS merges (
    dup_id TEXT PRIMARY KEY,
    into_id TEXT NOT NULL,
    merged_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS members_phone ON members (phone_hash);
CREATE TABLE IF NOT EXISTS phone_claims (
    phone_hash TEXT PRIMARY KEY,
    n BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS once_taken (
    entry_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    taken BIGINT NOT NULL,
    given BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ledger_seq (
    terminal_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    change_id {serial},
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    origin TEXT
)
"""


class Tx(Protocol):
    """One transaction's statements."""

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...
    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...
    def run(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int: ...

    row_version: str  # SQL for a row's version: it changes whenever the row is written

    def matching(self, column: str, values: Sequence[str]) -> list[tuple[str, list[Any]]]:
        """``column`` is one of the text ``values``: (condition, parameters) pieces, each
        run as its own statement (see ``_in_lists``, ``_PostgresTx.matching``)."""
        ...

    def insert_new(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        """Insert the rows that no unique constraint refuses (a refused row is skipped, as
        with ON CONFLICT DO NOTHING): how many went in."""
        ...

    def update_unchanged(self, sql: str, rows: Sequence[Sequence[Any]]) -> set[Any]:
        """``UPDATE t SET a = ?, ... WHERE k = ?`` for each row (distinct keys) followed by
        the version (``row_version``) the row must still have: the keys of the rows written.
        A row that another transaction is changing is waited for, then skipped if it changed."""
        ...

    def lock_till(self, terminal_id: str) -> None: ...
    def lock_members(self, member_ids: Iterable[str]) -> dict[str, str]: ...
    def lock_changes(self) -> None: ...


class Store(Protocol):
    dialect: str

    def transaction(self) -> Any: ...  # a context manager yielding a Tx
    def close(self) -> None: ...


def statements() -> list[str]:
    return [s for s in _SCHEMA.split(";\n") if s.strip()]


def _in_lists(column: str, values: Sequence[str], size: int = 500) -> list[tuple[str, list[Any]]]:
    """IN lists of at most ``size`` placeholders (SQLite's limit on variables was 999)."""
    return [
        (f"{column} IN ({', '.join('?' * len(chunk))})", list(chunk))
        for chunk in (values[i : i + size] for i in range(0, len(values), size))
    ]


class _SqliteTx:
    row_version = "NULL"  # one writer: a row cannot change under the transaction that reads it

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def matching(self, column: str, values: Sequence[str]) -> list[tuple[str, list[Any]]]:
        return _in_lists(column, values)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(sql, params).rowcount

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Rows changed in all (an insert that did nothing on conflict counts 0)."""
        return self.conn.executemany(sql, rows).rowcount

    def insert_new(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        return self.many(_insert_skipping(table, columns), rows)

    def update_unchanged(self, sql: str, rows: Sequence[Sequence[Any]]) -> set[Any]:
        """One writer: no row changes under the transaction that read it."""
        self.conn.executemany(sql, [row[:-1] for row in rows])
        return {row[-2] for row in rows}

    def lock_till(self, terminal_id: str) -> None:
        """BEGIN IMMEDIATE already holds the one write lock."""

    def lock_members(self, member_ids: Iterable[str]) -> dict[str, str]:
        """BEGIN IMMEDIATE already holds the one write lock."""
        return {}

    def lock_changes(self) -> None:
        """BEGIN IMMEDIATE already holds the one write lock."""


class SqliteStore:
    """One connection serialised by a lock: WAL, synchronous=FULL, BEGIN IMMEDIATE."""

    dialect = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            private_database(self.path)  # members' data and till token hashes: owner only
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        self.conn = conn
        self.lock = threading.Lock()
        with self.transaction() as tx:
            for sql in statements():
                tx.run(
                    sql.format(
                        serial="INTEGER PRIMARY KEY AUTOINCREMENT", blob="BLOB", update_heavy=""
                    )
                )
            _init_settings(tx)

    @contextmanager
    def transaction(self) -> Iterator[_SqliteTx]:
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(self.conn)
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self.conn.close()


_INSERT_VALUES = re.compile(r"INSERT INTO (\w+) \(([\w, ]+)\) VALUES \(([?, ]+)\)(.*)", re.S)
_UPDATE_SET = re.compile(r"UPDATE (\w+) SET ((?:\w+ = \?, )*\w+ = \?) WHERE (\w+) = \?", re.S)
_column_types: dict[str, dict[str, str]] = {}
_rows_json = msgspec.json.Encoder()


def _types(conn: Any, table: str) -> dict[str, str]:
    """Each column's SQL type (``format_type``), read once per table and process."""
    if table not in _column_types:
        rows = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (table,),
        ).fetchall()
        _column_types[table] = dict(rows)
    return _column_types[table]


def _insert_skipping(table: str, columns: Sequence[str]) -> str:
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        "ON CONFLICT DO NOTHING"
    )


def _bulk_sql(conn: Any, sql: str, rows: list[Sequence[Any]]) -> str | None:
    """``sql`` over all ``rows`` in one statement that reads them from one JSON array of arrays
    (``json_array_elements``, parsed in C), or None when it is not a shape we batch. Pipelined
    executemany costs PostgreSQL a parse-bind-execute per row and psycopg a Python round per
    row; this is one statement and one msgspec encoding (see bench/chain.py)."""
    text = " ".join(sql.split())
    insert = _INSERT_VALUES.fullmatch(text)
    if insert is not None:
        table, cols, rest = insert[1], [c.strip() for c in insert[2].split(",")], insert[4]
        if insert[3].count("?") != len(cols) or "?" in rest:
            return None
        types = _types(conn, table)
        values = ", ".join(f"(r->>{i})::{types[c]}" for i, c in enumerate(cols))
        return (
            f"INSERT INTO {table} ({', '.join(cols)}) SELECT {values} "
            f"FROM jsonb_array_elements(%s::jsonb) AS r{rest}"
        )
    if _UPDATE_SET.fullmatch(text) is not None:
        if len({row[-1] for row in rows}) != len(rows):
            return None  # a key twice: only executemany keeps "the last one wins"
        return _bulk_update(conn, text)
    return None


def _bulk_update(conn: Any, text: str, versioned: bool = False) -> str:
    """``UPDATE t SET a = ?, ... WHERE k = ?`` over a JSON array of rows (with distinct keys);
    ``versioned``: each row ends with the version it must still have, and the statement
    returns the keys it wrote."""
    update = _UPDATE_SET.fullmatch(text)
    if update is None:
        raise ValueError(f"not an UPDATE ... SET ... WHERE key = ?: {text}")
    table, key = update[1], update[3]
    sets = [part.split(" = ")[0] for part in update[2].split(", ")]
    types = _types(conn, table)
    assign = ", ".join(f"{c} = (r->>{i})::{types[c]}" for i, c in enumerate(sets))
    sql = (
        f"UPDATE {table} AS t SET {assign} FROM jsonb_array_elements(%s::jsonb) AS r "
        f"WHERE t.{key} = (r->>{len(sets)})::{types[key]}"
    )
    if versioned:
        sql += f" AND t.xmin = (r->>{len(sets) + 1})::xid RETURNING t.{key}"
    return sql


class _PostgresTx:
    row_version = "xmin::text"  # the transaction that wrote this version of the row

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def matching(self, column: str, values: Sequence[str]) -> list[tuple[str, list[Any]]]:
        """One condition over all ``values``, sent as one JSON array: psycopg parses a query
        for its placeholders anew when it is long (500 of them cost about 3 ms) and dumps a
        list parameter element by element in Python. Measured on 5,000 member ids: 44 ms as
        IN lists of 500, 27 ms as ``= ANY(list)``, 17 ms as this. ``ARRAY(...)`` keeps it an
        index scan (one InitPlan), where ``IN (SELECT ...)`` could plan as a join."""
        if not values:
            return []
        return [
            (
                f"{column} = ANY(ARRAY(SELECT jsonb_array_elements_text(?::jsonb)))",
                [_rows_json.encode(values).decode()],
            )
        ]

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = self.conn.execute(self._sql(sql), params).fetchall()
        return rows

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self.conn.execute(self._sql(sql), params).fetchone()
        return row

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        count: int = self.conn.execute(self._sql(sql), params).rowcount
        return count

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """One statement over a JSON array of the rows for the two shapes the service batches,
        ``INSERT INTO t (cols) VALUES (?, ...) ...`` and ``UPDATE t SET a = ?, ... WHERE k = ?``
        with distinct keys; executemany for anything else. The same rows change either way:
        a row that conflicts with one inserted earlier in the statement is skipped as before."""
        rows = list(rows)
        bulk = _bulk_sql(self.conn, sql, rows) if len(rows) > 1 else None
        with self.conn.cursor() as cur:
            if bulk is None:
                cur.executemany(self._sql(sql), rows)
            else:
                cur.execute(bulk, (_rows_json.encode(rows).decode(),))
            count: int = cur.rowcount
            return count

    def insert_new(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        """One COPY in a savepoint, which is all it takes unless a constraint refuses a row;
        then the savepoint is rolled back and the rows go in with INSERT ... ON CONFLICT DO
        NOTHING. The constraints decide either way (nothing is looked up first). COPY
        inserts a page of rows at a time with one WAL record, where INSERT ... ON CONFLICT
        inserts row by row, each speculatively: the unique indexes are probed first and the
        insertion confirmed by a second WAL record."""
        from psycopg import errors

        if not rows:
            return 0
        try:
            copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with self.conn.transaction(), self.conn.cursor() as cur, cur.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
            return len(rows)
        except errors.UniqueViolation:
            return self.many(_insert_skipping(table, columns), rows)

    def update_unchanged(self, sql: str, rows: Sequence[Sequence[Any]]) -> set[Any]:
        """One statement, no locks taken before it: it locks each row as it writes it. Under
        READ COMMITTED, a row another transaction is writing is waited for and its condition
        checked again on the version that transaction committed; a changed ``xmin`` means
        the row is skipped, so nothing is written over an account the caller did not read."""
        if not rows:
            return set()
        bulk = _bulk_update(self.conn, " ".join(sql.split()), versioned=True)
        found = self.conn.execute(bulk, (_rows_json.encode(rows).decode(),)).fetchall()
        return {r[0] for r in found}

    def lock_till(self, terminal_id: str) -> None:
        # One push per till at a time: the till's own row, locked until commit.
        self.conn.execute(
            "SELECT 1 FROM tills WHERE terminal_id = %s FOR UPDATE", (terminal_id,)
        ).fetchall()

    def lock_members(self, member_ids: Iterable[str]) -> dict[str, str]:
        """Row locks until commit, taken in member order so that two transactions touching the
        same members cannot deadlock; each locked row's version (``row_version``)."""
        ids = sorted(set(member_ids))
        if not ids:
            return {}
        ((where, params),) = self.matching("member_id", ids)
        rows = self.all(
            f"SELECT member_id, xmin::text FROM members WHERE {where} "
            "ORDER BY member_id FOR UPDATE",
            params,
        )
        return dict(rows)

    def lock_changes(self) -> None:
        # Change ids must become visible in id order, or a reader's cursor could skip one that
        # commits late: writers of changes take turns until they commit.
        self.conn.execute("SELECT pg_advisory_xact_lock(715517)").fetchall()


# Every push rewrites the account of each member it touches. Room on each page lets
# PostgreSQL write the new row version beside the old one (a heap-only tuple update), without
# new entries in the members' indexes: a push's 5,000 updates among a million members took
# about 20 us a row instead of 35-50 us when measured on this 2-core machine.
_FILLFACTOR = 70
_UPDATE_HEAVY = f" WITH (fillfactor = {_FILLFACTOR})"


class PostgresStore:
    """A small pool of psycopg connections, READ COMMITTED, explicit locks where order matters."""

    dialect = "postgresql"

    def __init__(self, url: str, size: int = 8) -> None:
        import psycopg  # the till never loads the driver

        self._psycopg = psycopg
        self.url = url
        self._pool: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = threading.Semaphore(size)
        with self.transaction() as tx:
            tx.conn.execute("SELECT pg_advisory_xact_lock(715516)")
            for sql in statements():
                tx.conn.execute(
                    sql.format(
                        serial="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                        blob="BYTEA",
                        update_heavy=_UPDATE_HEAVY,
                    )
                )
            # A database made before members had room on their pages: new pages get it.
            options = tx.conn.execute(
                "SELECT reloptions FROM pg_class WHERE oid = 'members'::regclass"
            ).fetchone()
            if not options[0] or f"fillfactor={_FILLFACTOR}" not in options[0]:
                tx.conn.execute(f"ALTER TABLE members SET (fillfactor = {_FILLFACTOR})")
            _init_settings(tx)

    def _connect(self) -> Any:
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            return self._psycopg.connect(self.url, autocommit=False)

    @contextmanager
    def transaction(self) -> Iterator[_PostgresTx]:
        with self._slots:
            conn = self._connect()
            try:
                yield _PostgresTx(conn)
            except BaseException:
                try:
                    conn.rollback()
                except Exception:
                    conn.close()
                    raise
                self._pool.put(conn)
                raise
            try:
                conn.commit()
            except BaseException:
                conn.close()
                raise
            self._pool.put(conn)

    def close(self) -> None:
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                return


def is_contention(exc: BaseException) -> bool:
    """The database ended the transaction to break a deadlock or a serialization conflict, or
    its lock wait timed out: it was rolled back whole, and running it again is safe."""
    name = type(exc).__name__
    if name in ("DeadlockDetected", "SerializationFailure", "LockNotAvailable"):
        return True
    return name == "OperationalError" and "locked" in str(exc)  # SQLite's busy timeout


def _init_settings(tx: Any) -> None:
    # A random epoch per database: a cursor from another database (or a restored one) is stale.
    tx.run(
        "INSERT INTO settings (key, value) VALUES ('epoch', ?) ON CONFLICT DO NOTHING",
        (secrets.token_hex(8),),
    )
    # The chain's phone key: every till hashes phone numbers with it, so every till finds every
    # member by phone. Rotated by HeadOffice.rotate_phone_key (older keys are kept).
    keys = json.dumps([["p1", secrets.token_hex(32)]])
    tx.run(
        "INSERT INTO settings (key, value) VALUES ('phone_keys', ?) ON CONFLICT DO NOTHING",
        (keys,),
    )


def open_store(url: str) -> SqliteStore | PostgresStore:
    """``postgresql://...`` (or ``postgres://``), else a SQLite path or ``sqlite:///path``."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    if url.startswith("sqlite:///"):
        url = url[len("sqlite:///") :]
    return SqliteStore(url)
