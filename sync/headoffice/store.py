"""Head office's database behind one small interface: SQLite (stdlib sqlite3, WAL) by default,
PostgreSQL (psycopg 3) when given a ``postgresql://`` URL.

The SQL is written once, with ``?`` placeholders, and runs on both. Deduplication is the unique
constraints' job (``INSERT ... ON CONFLICT DO NOTHING``), never a check before an insert. The
few places where PostgreSQL's concurrent writers need ordering take row or advisory locks
(``lock_till``, ``lock_members``, ``lock_changes``); SQLite has one writer and needs none.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from loyalty.files import private_database
from sync.headoffice import referral_tables
from sync.headoffice.shop_days import shop_day

if TYPE_CHECKING:
    from sync.headoffice.store_postgres import PostgresStore

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
CREATE TABLE IF NOT EXISTS held_decisions (
    terminal_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    entry_id TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    credit_entry_id TEXT,
    PRIMARY KEY (terminal_id, seq)
);
CREATE INDEX IF NOT EXISTS held_decisions_entry ON held_decisions (entry_id);
CREATE INDEX IF NOT EXISTS held_entries_entry ON held_entries (entry_id);
CREATE TABLE IF NOT EXISTS channels (
    channel_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS channel_requests (
    channel_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    answer {blob} NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (channel_id, idem_key)
);
CREATE TABLE IF NOT EXISTS engagement_claims (
    member_id TEXT NOT NULL,
    action TEXT NOT NULL,
    period_key TEXT NOT NULL,
    slot BIGINT NOT NULL,
    entry_id TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    ref TEXT,
    PRIMARY KEY (member_id, action, period_key, slot)
);
CREATE INDEX IF NOT EXISTS engagement_claims_time ON engagement_claims (claimed_at);
CREATE TABLE IF NOT EXISTS channel_activity (
    channel_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    member_id TEXT NOT NULL,
    points BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    action TEXT,
    occurred_at TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    PRIMARY KEY (channel_id, kind, ref)
);
CREATE INDEX IF NOT EXISTS channel_activity_member ON channel_activity (member_id, occurred_at);
CREATE TABLE IF NOT EXISTS channel_facts (
    channel_id TEXT NOT NULL,
    fact TEXT NOT NULL,
    member_id TEXT NOT NULL,
    total_minor BIGINT NOT NULL,
    refunded_minor BIGINT NOT NULL,
    detail TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (channel_id, fact)
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
    state_json TEXT,
    kpi_no {identity}
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
CREATE TABLE IF NOT EXISTS offers (
    offer_id TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    segment TEXT NOT NULL,
    ends TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS offer_members (
    member_id TEXT NOT NULL,
    offer_id TEXT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, offer_id)
);
CREATE INDEX IF NOT EXISTS offer_members_offer ON offer_members (offer_id);
CREATE TABLE IF NOT EXISTS offer_uses (
    entry_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    offer_id TEXT NOT NULL,
    points BIGINT NOT NULL,
    reversed BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS member_categories (
    member_id TEXT NOT NULL,
    category TEXT NOT NULL,
    last_day TEXT NOT NULL,
    PRIMARY KEY (member_id, category)
);
CREATE TABLE IF NOT EXISTS changes (
    change_id {serial},
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    origin TEXT
);
CREATE INDEX IF NOT EXISTS members_enrolled ON members (enrolled_at);
CREATE TABLE IF NOT EXISTS kpi_days (
    terminal_id TEXT NOT NULL,
    day TEXT NOT NULL,
    points_issued BIGINT NOT NULL,
    points_redeemed BIGINT NOT NULL,
    points_expired BIGINT NOT NULL,
    points_reversed BIGINT NOT NULL,
    points_adjusted BIGINT NOT NULL,
    member_spend_minor BIGINT NOT NULL,
    purchases BIGINT NOT NULL,
    redeeming_purchases BIGINT NOT NULL,
    offline_redemptions BIGINT NOT NULL,
    overdrafts BIGINT NOT NULL,
    buyers {blob} NOT NULL,
    PRIMARY KEY (terminal_id, day)
);
CREATE INDEX IF NOT EXISTS kpi_days_day ON kpi_days (day);
CREATE TABLE IF NOT EXISTS kpi_counts (
    terminal_id TEXT NOT NULL,
    day TEXT NOT NULL,
    figure TEXT NOT NULL,
    key TEXT NOT NULL,
    n BIGINT NOT NULL,
    points BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    PRIMARY KEY (terminal_id, day, figure, key)
);
CREATE TABLE IF NOT EXISTS kpi_tills (
    terminal_id TEXT PRIMARY KEY,
    last_received TEXT NOT NULL,
    oldest_occurred TEXT NOT NULL
)
"""


class Tx(Protocol):
    """One transaction's statements."""

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...
    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...
    def run(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int: ...

    dialect: str  # the store's: "sqlite" or "postgresql"
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
    def lock_free_members(self, member_ids: Iterable[str]) -> list[str]:
        """Lock those of the members whose rows no other transaction holds, without waiting
        for the others: the ids locked, in member order."""
        ...

    def lock_changes(self) -> None: ...


class Store(Protocol):
    dialect: str

    def transaction(self) -> Any: ...  # a context manager yielding a Tx
    def close(self) -> None: ...


def statements() -> list[str]:
    return [s for s in (_SCHEMA + ";\n" + referral_tables.SCHEMA).split(";\n") if s.strip()]


def _in_lists(column: str, values: Sequence[str], size: int = 500) -> list[tuple[str, list[Any]]]:
    """IN lists of at most ``size`` placeholders (SQLite's limit on variables was 999)."""
    return [
        (f"{column} IN ({', '.join('?' * len(chunk))})", list(chunk))
        for chunk in (values[i : i + size] for i in range(0, len(values), size))
    ]


class _SqliteTx:
    dialect = "sqlite"
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

    def lock_free_members(self, member_ids: Iterable[str]) -> list[str]:
        """BEGIN IMMEDIATE already holds the one write lock: every member is free."""
        return sorted(set(member_ids))

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
        # The shop day of a time, as PostgreSQL's AT TIME ZONE gives it (reports read by day).
        conn.create_function("shop_day", 2, shop_day, deterministic=True)
        self.conn = conn
        self.lock = threading.Lock()
        with self.transaction() as tx:
            for sql in statements():
                tx.run(
                    sql.format(
                        serial="INTEGER PRIMARY KEY AUTOINCREMENT",
                        blob="BLOB",
                        update_heavy="",
                        identity="INTEGER",
                    )
                )
            _init_settings(tx)
            migrate(tx)

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


def _insert_skipping(table: str, columns: Sequence[str]) -> str:
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        "ON CONFLICT DO NOTHING"
    )


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


def migrate(tx: Any) -> None:
    """What an existing database needs that CREATE ... IF NOT EXISTS cannot give it: the
    KPI summaries of the ledger it already holds (reports/summaries.py)."""
    from sync.headoffice.reports import summaries

    summaries.migrate(tx)


def open_store(url: str) -> SqliteStore | PostgresStore:
    """``postgresql://...`` (or ``postgres://``), else a SQLite path or ``sqlite:///path``."""
    if url.startswith(("postgresql://", "postgres://")):
        from sync.headoffice.store_postgres import PostgresStore

        return PostgresStore(url)
    if url.startswith("sqlite:///"):
        url = url[len("sqlite:///") :]
    return SqliteStore(url)
