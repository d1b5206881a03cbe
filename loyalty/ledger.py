"""The append-only ledger: entries with a per-till, gap-free ``seq`` and a hash chain.

``seq`` is allocated inside the caller's write transaction as MAX(seq)+1, so two sales can never
take the same number and a rolled-back sale leaves no gap. Each entry's hash covers its facts and
the previous entry's hash, so an edit made behind the triggers' back shows in ``verify_chain``.
The ledger is also the sync outbox: ``acked_at`` is set when head office acknowledged an entry.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

try:  # the standard library's from Python 3.14
    from uuid import uuid7  # type: ignore[attr-defined,unused-ignore]
except ImportError:
    from uuid6 import uuid7

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry before the ledger gave it an id, a seq and a hash."""

    member_id: str
    kind: str
    points: int
    amount_minor: int = 0
    receipt_no: str | None = None
    reverses: str | None = None
    reward_id: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    entry_id: str
    terminal_id: str
    seq: int
    member_id: str
    kind: str
    points: int
    amount_minor: int
    currency: str
    receipt_no: str | None
    reverses: str | None
    reward_id: str | None
    program_version: str
    occurred_at: str
    offline: bool
    cashier_id: str
    reason: str
    prev_hash: str
    hash: str
    acked_at: str | None = None

    def facts(self) -> dict[str, object]:
        out = asdict(self)
        out.pop("acked_at")
        return out


_COLUMNS = (
    "entry_id, terminal_id, seq, member_id, kind, points, amount_minor, currency, receipt_no, "
    "reverses, reward_id, program_version, occurred_at, offline, cashier_id, reason, prev_hash, "
    "hash, acked_at"
)


def new_entry_id() -> str:
    """A UUIDv7 (RFC 9562): time-ordered, so this till's ledger and head office's unique index
    on entry ids take new ids at their right-hand edge instead of at random pages (a chain's
    index of millions of ids stops being read from disk for every insert; bench/chain.py)."""
    return str(uuid7())


def entry_hash(prev_hash: str, fields: tuple[object, ...]) -> str:
    payload = json.dumps([prev_hash, *fields], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def append(
    conn: sqlite3.Connection,
    terminal_id: str,
    entries: Iterable[NewEntry],
    *,
    currency: str,
    program_version: str,
    occurred_at: str,
    offline: bool,
    cashier_id: str,
) -> list[Entry]:
    """Append entries in one go. Must run inside the caller's write transaction."""
    if not conn.in_transaction:
        raise RuntimeError("ledger.append outside a write transaction")
    last = conn.execute(
        "SELECT seq, hash FROM ledger WHERE terminal_id = ? ORDER BY seq DESC LIMIT 1",
        (terminal_id,),
    ).fetchone()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    out: list[Entry] = []
    for new in entries:
        seq += 1
        entry_id = new_entry_id()
        fields = (
            entry_id, terminal_id, seq, new.member_id, new.kind, new.points, new.amount_minor,
            currency, new.receipt_no, new.reverses, new.reward_id, program_version, occurred_at,
            int(offline), cashier_id, new.reason,
        )  # fmt: skip
        digest = entry_hash(prev, fields)
        conn.execute(
            f"INSERT INTO ledger ({_COLUMNS}) VALUES ({', '.join('?' * 19)})",
            (*fields, prev, digest, None),
        )
        out.append(Entry(*fields[:13], bool(offline), cashier_id, new.reason, prev, digest))  # type: ignore[arg-type]
        prev = digest
    return out


def entry(row: sqlite3.Row | tuple[Any, ...]) -> Entry:
    """An entry from a row in ``_COLUMNS`` order."""
    values = tuple(row)
    return Entry(*values[:13], bool(values[13]), *values[14:])  # type: ignore[arg-type,call-arg]


def select_rows(
    conn: sqlite3.Connection, where: str, params: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    """``SELECT {_COLUMNS} FROM ledger {where}`` as plain tuples in ``Entry``'s field order
    (``offline`` as stored, 0 or 1): the connection's sqlite3.Row costs more than the rest of
    the read, and a push turns rows straight into its wire form (a sync reads 5,000 a batch)."""
    cur = conn.cursor()
    cur.row_factory = None
    return cur.execute(f"SELECT {_COLUMNS} FROM ledger {where}", params).fetchall()


def select(conn: sqlite3.Connection, where: str, params: Sequence[Any] = ()) -> list[Entry]:
    """``SELECT {_COLUMNS} FROM ledger {where}`` as entries."""
    return [entry(r) for r in select_rows(conn, where, params)]


def unacked_for_member(conn: sqlite3.Connection, member_id: str) -> list[Entry]:
    return select(conn, "WHERE member_id = ? AND acked_at IS NULL ORDER BY seq", (member_id,))


def for_receipts(conn: sqlite3.Connection, receipt_nos: Iterable[str]) -> list[Entry]:
    nos = list(receipt_nos)
    return select(conn, f"WHERE receipt_no IN ({', '.join('?' * len(nos))}) ORDER BY seq", nos)


def reversed_points(conn: sqlite3.Connection, entry_ids: Iterable[str]) -> dict[str, int]:
    """How many points of each entry were already reversed (as a positive number)."""
    ids = list(entry_ids)
    if not ids:
        return {}
    rows = conn.execute(
        f"SELECT reverses, SUM(points) FROM ledger WHERE reverses IN ({', '.join('?' * len(ids))}) "
        "GROUP BY reverses",
        ids,
    )
    return {r[0]: abs(r[1]) for r in rows}


def reversed_amounts(conn: sqlite3.Connection, entry_ids: Iterable[str]) -> dict[str, int]:
    """How much of each entry's amount (a base earning's qualifying spend) was already
    reversed (as a positive number)."""
    ids = list(entry_ids)
    if not ids:
        return {}
    rows = conn.execute(
        f"SELECT reverses, SUM(amount_minor) FROM ledger WHERE reverses IN "
        f"({', '.join('?' * len(ids))}) GROUP BY reverses",
        ids,
    )
    return {r[0]: abs(r[1]) for r in rows}


UNACKED = "WHERE acked_at IS NULL AND terminal_id = ? ORDER BY seq LIMIT ?"


def unacked(conn: sqlite3.Connection, terminal_id: str, limit: int) -> list[Entry]:
    """The outbox: entries head office has not acknowledged yet, in seq order."""
    return select(conn, UNACKED, (terminal_id, limit))


def unacked_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM ledger WHERE acked_at IS NULL").fetchone()[0])


def unsynced_sales(conn: sqlite3.Connection) -> int:
    """What the cashier counts as not yet at head office: each sale or refund once, however
    many entries it wrote, and each entry made without a receipt (an adjustment) once."""
    row = conn.execute(
        "SELECT COUNT(DISTINCT receipt_no) + COALESCE(SUM(receipt_no IS NULL), 0) "
        "FROM ledger WHERE acked_at IS NULL"
    ).fetchone()
    return int(row[0])


def offline_redeemed(conn: sqlite3.Connection, member_id: str | None = None) -> int:
    """Points redeemed without head office's authorisation and not yet acknowledged: what the
    offline allowance (per member) and budget (per till) count against."""
    sql = (
        "SELECT COALESCE(-SUM(points), 0) FROM ledger "
        "WHERE acked_at IS NULL AND offline = 1 AND kind IN ('redeem', 'donate')"
    )
    if member_id is None:
        return int(conn.execute(sql).fetchone()[0])
    return int(conn.execute(sql + " AND member_id = ?", (member_id,)).fetchone()[0])


def verify_chain(conn: sqlite3.Connection, terminal_id: str) -> int | None:
    """The first seq whose hash or link does not match, or None when the chain is intact and
    gap-free."""
    prev = GENESIS
    expected = 1
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM ledger WHERE terminal_id = ? ORDER BY seq", (terminal_id,)
    )
    for row in rows:
        e = entry(row)
        fields = tuple(e.facts().values())[:16]
        fields = (*fields[:13], int(e.offline), *fields[14:])
        if e.seq != expected or e.prev_hash != prev or entry_hash(prev, fields) != e.hash:
            return e.seq
        prev = e.hash
        expected += 1
    return None
