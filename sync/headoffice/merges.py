"""One member, however many tills enrolled them. Tills offline from each other may each enrol
the same shopper (the same phone); head office keeps its own member of that phone, else the one
enrolled first, and merges every other into them, in the push that brings the duplicate.

A merge loses no point and edits nothing: the ``merges`` table records it, and head office's own
entries (sync/headoffice/own_entries.py) move each of the duplicate's entries across, a reversal
on the duplicate (reason ``merged_into:<member>``) and the same entry on the member kept (same
kind, points, spend and reason, so pending points, tier spend and purchases carry over; and the
same time: its ``occurred_at`` is the moved entry's, so the return window, expiry and tier window
run from the sale, not from the merge, whose time is the move's ``received_at``). Entries
the duplicate gets later (a till that has not heard of the merge yet) are moved in the push that
brings them. A once-only bonus both were paid is moved only if the member kept had not been
paid it (``once_paid``). The merge reaches every till through the feed (``merged_into``), the
till that pushed the duplicate included.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import msgspec

from loyalty.db import from_text, to_text
from loyalty.program import Program
from sync import protocol as p
from sync.headoffice import own_entries
from sync.headoffice.accounts import StoredEntry
from sync.headoffice.own_entries import HEADOFFICE, OwnEntry
from sync.headoffice.store import Tx

MERGED_INTO = "merged_into"
RECENT = dt.timedelta(hours=1)


def merge(
    tx: Tx,
    program: Program | None,
    phone_hashes: Sequence[str],
    stored: Sequence[p.WireEntry],
    stamp: str,
    new: dict[str, list[StoredEntry]],
    own: list[OwnEntry],
) -> set[str]:
    """Merge the duplicates of these phones (a push's enrolments and re-hashed members: see
    phone_keys.py), plan the moves of every duplicate's entries these entries touched: each
    into ``new`` to fold and into ``own`` for the caller to number (``own_entries.number``,
    after it locked its members: members, then head office's counter, then the feed). Returns
    the members changed; the caller announces them with ``announce``, last."""
    found: set[str] = set()
    hashes = sorted(set(phone_hashes))
    for phone_hash in hashes:
        # Two pushes enrolling one phone at once (PostgreSQL) would each miss the other's
        # uncommitted member: the claim's row lock makes the second wait for the first to
        # commit, then see it. Sorted, so two pushes never wait for each other.
        tx.run(
            "INSERT INTO phone_claims (phone_hash, n) VALUES (?, 1) "
            "ON CONFLICT (phone_hash) DO UPDATE SET n = phone_claims.n + 1",
            (phone_hash,),
        )
    for phone_hash in hashes:
        found |= _detect(tx, phone_hash, stamp)
    if not found and tx.one("SELECT 1 FROM merges LIMIT 1") is None:
        return set()  # the usual push: no merge anywhere yet, nothing to look up per member
    ids = sorted(found | {e.member_id for e in stored})
    dups: dict[str, str] = {}
    for where, params in tx.matching("dup_id", ids):
        dups.update(tx.all(f"SELECT dup_id, into_id FROM merges WHERE {where}", params))
    # A push that stored a duplicate's entry while another push was merging it (PostgreSQL:
    # neither saw the other's uncommitted rows) left that entry unmoved: every push looks at
    # the merges of the last hour again, and moves what is left (each move once, by its id).
    since = to_text(from_text(stamp) - RECENT)
    dups.update(tx.all("SELECT dup_id, into_id FROM merges WHERE merged_at >= ?", (since,)))
    if not dups or program is None:
        return set()
    moves: list[OwnEntry] = []
    for dup, into in sorted(dups.items()):
        moves += _moves(tx, dup, into, stamp)
    changed = set(found) | {dups[m] for m in found}
    for x, entry in own_entries.plan(tx, moves, stamp):
        new[x.member_id].append(entry)
        own.append(x)
        changed.add(x.member_id)
    return changed


def announce(tx: Tx, changed: set[str]) -> None:
    """Every till, the one that pushed the duplicate too, learns of the merge from the feed
    (no origin: the pushing till's pulls do not skip it). Last in the push: recording a
    change waits for other writers of changes to commit."""
    if changed:
        tx.lock_changes()
        tx.run(
            "INSERT INTO changes (kind, ref, origin) VALUES (?, ?, NULL)",
            ("members", json.dumps(sorted(changed))),
        )


def _detect(tx: Tx, phone_hash: str, stamp: str) -> set[str]:
    """Merge the later enrolments of this phone into the first; the duplicates merged now."""
    rows = tx.all(
        "SELECT member_id FROM members WHERE phone_hash = ? AND erased = 0 "
        "AND member_id NOT IN (SELECT dup_id FROM merges) "
        # Head office's own members (no till enrolled them) first, then by enrolment time.
        "ORDER BY enrolled_at IS NOT NULL, enrolled_at, member_id",
        (phone_hash,),
    )
    if len(rows) < 2:
        return set()
    into = rows[0][0]
    tx.many(
        "INSERT INTO merges (dup_id, into_id, merged_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [(r[0], into, stamp) for r in rows[1:]],
    )
    return {r[0] for r in rows[1:]}


def _moves(tx: Tx, dup: str, into: str, stamp: str) -> list[OwnEntry]:
    """The entries that move the duplicate's entries to ``into`` (those moved before are
    skipped by own_entries: their ids are derived from the entry they move)."""
    rows = tx.all(
        "SELECT entry_id, kind, points, amount_minor, reason, terminal_id, occurred_at, "
        "received_at FROM entries WHERE member_id = ? AND points <> 0 ORDER BY id",
        (dup,),
    )
    out: list[OwnEntry] = []
    for entry_id, kind, points, amount, reason, terminal_id, occurred, received in rows:
        if terminal_id == HEADOFFICE and str(reason).startswith(f"{MERGED_INTO}:"):
            continue  # a move out, already
        points, amount = int(points), int(amount)
        out.append(
            OwnEntry(
                f"merge-out:{entry_id}",
                dup,
                "reverse",
                -points,
                f"{MERGED_INTO}:{into}",
                reverses=entry_id,
            )  # fmt: skip
        )
        if _once_taken(tx, dup, into, entry_id, stamp):
            continue  # the member kept had this once-only bonus already
        # The move keeps the entry's own time (head office's rule: the till's time, never
        # later than head office received it), so its pending days, expiry and tier window
        # run from the sale, not from the merge; received_at says when the move was made.
        out.append(
            OwnEntry(
                f"merge-in:{entry_id}",
                into,
                kind,
                points,
                reason,
                amount_minor=amount,
                occurred_at=min(str(occurred), str(received)),
            )
        )
    return out


def _once_taken(tx: Tx, dup: str, into: str, entry_id: str, stamp: str) -> bool:
    row = tx.one(
        "SELECT once_key FROM once_paid WHERE member_id = ? AND entry_id = ?", (dup, entry_id)
    )
    if row is None:
        return False
    moved = OwnEntry(f"merge-in:{entry_id}", into, "", 0, "").entry_id
    claimed = tx.run(
        "INSERT INTO once_paid (member_id, once_key, entry_id, paid_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (into, row[0], moved, stamp),
    )
    if claimed:
        return False
    # Claimed before: by this very move (a replay) or by the member's own bonus.
    mine = tx.one(
        "SELECT 1 FROM once_paid WHERE member_id = ? AND once_key = ? AND entry_id = ?",
        (into, row[0], moved),
    )
    return mine is None


def with_merges(tx: Tx, states: list[p.MemberState]) -> list[p.MemberState]:
    """The states, each merged duplicate naming the member its points went to."""
    ids = [s.member_id for s in states]
    merged: dict[str, str] = {}
    for where, params in tx.matching("dup_id", ids):
        merged.update(tx.all(f"SELECT dup_id, into_id FROM merges WHERE {where}", params))
    if not merged:
        return states
    return [
        msgspec.structs.replace(s, merged_into=merged[s.member_id]) if s.member_id in merged else s
        for s in states
    ]
