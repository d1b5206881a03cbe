"""A POS's own sale ids: a sale or refund a shop's POS submits carries the POS's id, recorded
in the same transaction as the sale (``pos_sales``), so a retried submission finds the first
one and never records twice, and the same id with another request is refused.

``PosRef.fingerprint`` is whatever digest the caller makes of the request (the terminal hashes
the canonical body); this module only compares it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Literal

from loyalty.errors import LoyaltyError, Refused

PosKind = Literal["sale", "refund"]
MAX_POS_ID = 64


@dataclass(frozen=True, slots=True)
class PosRef:
    pos_sale_id: str
    fingerprint: str


class AlreadyRecorded(LoyaltyError):
    """Not a refusal: the POS id is recorded with this very request; ``receipt_no`` is the
    sale (or refund) it made. Raised inside the write transaction, so nothing new is written."""

    code = "pos_already_recorded"

    def __init__(self, receipt_no: str) -> None:
        super().__init__(self.code, receipt=receipt_no)
        self.receipt_no = receipt_no


def find(conn: sqlite3.Connection, kind: PosKind, pos_sale_id: str) -> tuple[str, str] | None:
    """(fingerprint, receipt number) recorded for this POS id, or None."""
    row = conn.execute(
        "SELECT fingerprint, receipt_no FROM pos_sales WHERE kind = ? AND pos_sale_id = ?",
        (kind, pos_sale_id),
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else None


def check_new(conn: sqlite3.Connection, kind: PosKind, ref: PosRef) -> None:
    """Inside the write transaction, before anything is written: AlreadyRecorded for a repeat
    of the recorded request, Refused ``pos_id_reused`` for the same id with another request."""
    found = find(conn, kind, ref.pos_sale_id)
    if found is None:
        return
    fingerprint, receipt_no = found
    if fingerprint == ref.fingerprint:
        raise AlreadyRecorded(receipt_no)
    raise Refused("pos_id_reused", pos_id=ref.pos_sale_id[:MAX_POS_ID], receipt=receipt_no)


def record(
    conn: sqlite3.Connection, kind: PosKind, ref: PosRef, receipt_no: str, stamp: str
) -> None:
    conn.execute(
        "INSERT INTO pos_sales (kind, pos_sale_id, fingerprint, receipt_no, recorded_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (kind, ref.pos_sale_id, ref.fingerprint, receipt_no, stamp),
    )


def receipt_for_sale(conn: sqlite3.Connection, pos_sale_id: str) -> str | None:
    found = find(conn, "sale", pos_sale_id)
    return found[1] if found else None
