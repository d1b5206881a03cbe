"""Phone hashes brought under the chain's current phone key, so older keys can be retired.

Head office holds phone numbers only as keyed hashes, so it cannot re-hash a member's number
when the chain's key is rotated: only a till that is given the raw number can. When a phone
number typed at this till (a look-up, or an enrolment refused as a duplicate) finds a member
by a hash under an older key, the till records the hash under the current key here and sends
it with its next push; head office replaces the old hash with it (only while the member's hash
is still that old one, and only under head office's current key). The raw number is used for
the two hashes and forgotten: it is never stored or logged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PhoneRehash:
    member_id: str
    old_hash: str
    phone_hash: str
    key_id: str


def record(conn: sqlite3.Connection, rehash: PhoneRehash, stamp: str) -> bool:
    """Queue the re-hash (one per member: a newer one replaces one not yet sent). Inside the
    caller's write transaction. False when it was queued or sent already."""
    cur = conn.execute(
        "INSERT INTO phone_rehashes (member_id, old_hash, phone_hash, key_id, created_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_id) DO UPDATE SET "
        "old_hash = excluded.old_hash, phone_hash = excluded.phone_hash, "
        "key_id = excluded.key_id, created_at = excluded.created_at, acked_at = NULL "
        "WHERE phone_rehashes.phone_hash <> excluded.phone_hash",
        (rehash.member_id, rehash.old_hash, rehash.phone_hash, rehash.key_id, stamp),
    )
    return cur.rowcount > 0


def pending(conn: sqlite3.Connection, limit: int = 1000) -> list[PhoneRehash]:
    """The oldest re-hashes head office has not seen yet (``limit``: one push's worth)."""
    rows = conn.execute(
        "SELECT member_id, old_hash, phone_hash, key_id FROM phone_rehashes "
        "WHERE acked_at IS NULL ORDER BY created_at, member_id LIMIT ?",
        (limit,),
    ).fetchall()
    return [PhoneRehash(*tuple(r)) for r in rows]


def acknowledge(conn: sqlite3.Connection, hashes: Sequence[str], stamp: str) -> None:
    """Head office has seen these (applied or refused): they are sent no more."""
    conn.executemany(
        "UPDATE phone_rehashes SET acked_at = ? WHERE phone_hash = ? AND acked_at IS NULL",
        [(stamp, h) for h in hashes],
    )
