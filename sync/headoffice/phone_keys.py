"""The chain's phone keys: rotated, brought forward member by member, and retired.

Tills hash phone numbers with the newest key and still find members hashed with older ones
(every pull carries all the keys). Head office holds only the hashes, so it cannot re-hash a
number under a new key itself; a till that is given the raw number and finds the member by an
older key's hash sends the hash under the current key with its next push (loyalty/rehash.py),
and head office replaces the member's hash with it when:

- the key is head office's current one (a till that has not pulled a newer key yet re-hashes
  again after it has), and
- the member's hash is still the one the till found them by (never another member's, never
  a hash changed since), and the member is not erased.

The member's new hash reaches every till through the feed, and a member enrolled twice (the
second time offline, under the new key) is merged as soon as their hashes meet
(sync/headoffice/merges.py).

A key is retired RETIRE_AFTER after it was superseded, by the due jobs (sync/headoffice/jobs.py):
removed from head office and, with their next pull, from every till. Every member whose phone
was given at any till in that time is under a newer key by then; the hash of one who was not is
left matching nothing, and nobody holds the key any more that could tell which number it was.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence

from loyalty.db import from_text, to_text
from sync import protocol as p
from sync.headoffice.store import Tx

RETIRE_AFTER = dt.timedelta(days=400)  # a shopper who comes once a year, and some slack


def keys(tx: Tx) -> list[tuple[str, str]]:
    """(key id, key), oldest first: the last is the one to hash with."""
    row = tx.one("SELECT value FROM settings WHERE key = 'phone_keys'")
    return [(str(k), str(v)) for k, v in json.loads(row[0])] if row else []


def _superseded(tx: Tx) -> dict[str, str]:
    row = tx.one("SELECT value FROM settings WHERE key = 'phone_keys_superseded'")
    return dict(json.loads(row[0])) if row else {}


def _save(tx: Tx, name: str, value: object) -> None:
    tx.run(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (name, json.dumps(value)),
    )


def rotate(tx: Tx, now: dt.datetime) -> str:
    """A new current key; the one before it is superseded from ``now``. Returns its id."""
    held = keys(tx)
    number = max((int(k[1:]) for k, _ in held if k[1:].isdigit()), default=0) + 1
    key_id = f"p{number}"
    superseded = _superseded(tx)
    if held:
        superseded[held[-1][0]] = to_text(now)
    _save(tx, "phone_keys", [[k, v] for k, v in held] + [[key_id, secrets.token_hex(32)]])
    _save(tx, "phone_keys_superseded", superseded)
    return key_id


def schedule(tx: Tx, after: dt.timedelta = RETIRE_AFTER) -> list[dict[str, str | None]]:
    """Each key (never its secret), oldest first: when it was superseded and when it retires
    (None for the current one)."""
    superseded = _superseded(tx)
    out: list[dict[str, str | None]] = []
    for key_id, _ in keys(tx):
        since = superseded.get(key_id)
        retires = to_text(from_text(since) + after) if since else None
        out.append({"key_id": key_id, "superseded_at": since, "retires_at": retires})
    return out


def retire_due(tx: Tx, now: dt.datetime, after: dt.timedelta = RETIRE_AFTER) -> list[str]:
    """Remove the keys superseded at least ``after`` ago (never the current one)."""
    held = keys(tx)
    superseded = _superseded(tx)
    gone = [k for k, _ in held[:-1] if k in superseded and from_text(superseded[k]) + after <= now]
    if gone:
        _save(tx, "phone_keys", [[k, v] for k, v in held if k not in gone])
        _save(tx, "phone_keys_superseded", {k: t for k, t in superseded.items() if k not in gone})
    return gone


def apply(tx: Tx, rehashes: Sequence[p.WirePhoneRehash]) -> tuple[list[str], set[str]]:
    """Apply a push's re-hashes (see the module's docstring): (the hashes seen, for the till
    to send no more; the members whose hash changed)."""
    if not rehashes:
        return [], set()
    held = keys(tx)
    current = held[-1][0] if held else None
    changed: set[str] = set()
    for r in rehashes:
        if r.key_id != current or r.old_hash == r.phone_hash:
            continue
        if tx.run(
            "UPDATE members SET phone_hash = ? WHERE member_id = ? AND phone_hash = ? "
            "AND erased = 0",
            (r.phone_hash, r.member_id, r.old_hash),
        ):
            changed.add(r.member_id)
    return [r.phone_hash for r in rehashes], changed
