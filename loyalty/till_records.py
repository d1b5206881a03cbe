"""Small append-only records of how the till itself is run, beside its ledger: PIN lock-outs a
manager cleared (who, for whom, when, why) and the app codes sales were made with (each is
used once). Plain rows in the till's SQLite, written in one
transaction each and never changed (triggers refuse an UPDATE or a DELETE)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

from loyalty.db import from_text, to_text


@dataclass(frozen=True, slots=True)
class LockoutReset:
    reset_at: dt.datetime
    cashier_id: str  # whose lock-out was cleared
    manager_id: str  # the manager who cleared it, with their PIN
    reason: str


def record_lockout_reset(conn: sqlite3.Connection, reset: LockoutReset) -> None:
    conn.execute(
        "INSERT INTO lockout_resets (reset_at, cashier_id, manager_id, reason) VALUES (?, ?, ?, ?)",
        (to_text(reset.reset_at), reset.cashier_id, reset.manager_id, reset.reason),
    )


def lockout_resets(conn: sqlite3.Connection) -> list[LockoutReset]:
    rows = conn.execute(
        "SELECT reset_at, cashier_id, manager_id, reason FROM lockout_resets ORDER BY rowid"
    ).fetchall()
    return [LockoutReset(from_text(r[0]), r[1], r[2], r[3]) for r in rows]


@dataclass(frozen=True, slots=True)
class AppCode:
    """An app code a sale is made with (its id, from the signed token, and how long it is
    valid): the sale records it as used in its own transaction, so a code is spent exactly
    when a sale commits with it."""

    code_id: bytes
    valid_until: dt.datetime


def spend_app_code(
    conn: sqlite3.Connection,
    code_id: bytes,
    member_id: str,
    receipt_no: str,
    valid_until: dt.datetime,
    spent_at: dt.datetime,
) -> bool:
    """Record that the sale ``receipt_no`` used this app code; False if a sale already had."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO spent_app_codes "
        "(code_id, member_id, receipt_no, valid_until, spent_at) VALUES (?, ?, ?, ?, ?)",
        (code_id, member_id, receipt_no, to_text(valid_until), to_text(spent_at)),
    )
    return cur.rowcount == 1


def app_code_spent(conn: sqlite3.Connection, code_id: bytes) -> bool:
    row = conn.execute("SELECT 1 FROM spent_app_codes WHERE code_id = ?", (code_id,)).fetchone()
    return row is not None
