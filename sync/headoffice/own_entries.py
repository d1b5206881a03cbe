"""Head office's own ledger entries: the compensations and job results it writes itself (a
duplicate once-only bonus taken back, points expired, a tier changed), beside the tills' entries
in the same ``entries`` table, under the terminal id ``@headoffice`` (never a till's: a till id
has no ``@``), with their own gap-free ``seq`` and hash chain like a till's.

Each entry's id is derived from what it is about (``uuid5`` of a key such as
``once:<duplicate entry id>`` or ``expire:<member>:<expiry time>``), so writing the same fact
twice, in one process or in two at once, stores it once: the entry ids' unique constraint
decides. The seq counter's row is locked for the rest of the transaction (PostgreSQL) or the
one writer holds SQLite, so head office's entries take their seqs one writer at a time; a push
and the jobs plan theirs first and number them last (``plan``, ``number``), so that they hold
the counter only for their transaction's last statements.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from loyalty.ledger import GENESIS, entry_hash
from sync.headoffice.accounts import StoredEntry
from sync.headoffice.store import Tx

HEADOFFICE = "@headoffice"
CASHIER = "headoffice"
_NAMESPACE = uuid.UUID("6f1e4c1a-3b0e-5d8e-9a55-0c0ffee13e13")
_COLUMNS = (
    "entry_id", "terminal_id", "seq", "member_id", "kind", "points", "amount_minor", "currency",
    "receipt_no", "reverses", "reward_id", "program_version", "occurred_at", "offline",
    "cashier_id", "reason", "prev_hash", "hash", "received_at", "chain_ok",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OwnEntry:
    """An entry head office means to write; ``key`` names the fact, once."""

    key: str
    member_id: str
    kind: str  # reverse, adjust, expire
    points: int
    reason: str
    reverses: str | None = None
    amount_minor: int = 0
    # When the fact took effect, if not when head office writes it: a merge's move of an
    # entry keeps the moved entry's time, so its pending days and expiry run from then.
    occurred_at: str | None = None

    @property
    def entry_id(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, self.key))


def lock(tx: Tx) -> int:
    """Lock head office's entry counter until the transaction ends (created at 0 the first
    time) and read it: every writer of head office's entries waits here for the one before it
    to commit, then sees what it stored. Taken after the members' rows (``number``), never
    before them: members, then this counter, then the change feed."""
    row = tx.one(
        "INSERT INTO ledger_seq (terminal_id, seq) VALUES (?, 0) ON CONFLICT (terminal_id) "
        "DO UPDATE SET seq = ledger_seq.seq RETURNING seq",
        (HEADOFFICE,),
    )
    assert row is not None
    return int(row[0])


def plan(tx: Tx, entries: Sequence[OwnEntry], stamp: str) -> list[tuple[OwnEntry, StoredEntry]]:
    """The entries not stored before, each once, with what folding needs of them; nothing is
    locked or written. ``number`` stores them, as late in the transaction as it can: their
    ids are derived from the facts, so no other transaction can be storing the same one."""
    ids = [e.entry_id for e in entries]
    known: set[str] = set()
    for where, params in tx.matching("entry_id", ids):
        known.update(r[0] for r in tx.all(f"SELECT entry_id FROM entries WHERE {where}", params))
    out: list[tuple[OwnEntry, StoredEntry]] = []
    for e in entries:
        if e.entry_id in known:
            continue
        known.add(e.entry_id)
        when = e.occurred_at or stamp
        entry = StoredEntry(
            e.entry_id, e.kind, e.points, e.amount_minor, e.reverses, e.reason, when, stamp
        )
        out.append((e, entry))
    return out


def number(
    tx: Tx, planned: Sequence[OwnEntry], *, currency: str, program_version: str, stamp: str
) -> None:
    """Store planned entries (``plan``) in order: lock the counter, give each its seq and its
    place in head office's hash chain. The counter's row lock is held to the commit and every
    writer of head office's entries waits for it, so a push takes it last (after its members'
    rows, beside the change feed's lock), not before folding its accounts: in a chain's night
    1,875 of 2,000 pushes took a bonus back, and they spent more time waiting here than in
    anything else (bench/chain.py --statements, bench/jobs_night.py)."""
    if not planned:
        return
    seq = lock(tx)
    last = tx.one("SELECT hash FROM entries WHERE terminal_id = ? AND seq = ?", (HEADOFFICE, seq))
    prev = last[0] if last else GENESIS
    rows: list[tuple[object, ...]] = []
    for e in planned:
        seq += 1
        fields = (
            e.entry_id, HEADOFFICE, seq, e.member_id, e.kind, e.points, e.amount_minor, currency,
            None, e.reverses, None, program_version, e.occurred_at or stamp, 0, CASHIER, e.reason,
        )  # fmt: skip
        digest = entry_hash(prev, fields)
        rows.append((*fields, prev, digest, stamp, 1))
        prev = digest
    inserted = tx.insert_new("entries", _COLUMNS, rows)
    if inserted != len(rows):  # ids derive from facts that one transaction owns; never half
        raise RuntimeError("head office's own entries: a unique constraint refused one")
    from sync.headoffice.reports import summaries  # (imports this module)

    summaries.stored(tx, rows)
    tx.run("UPDATE ledger_seq SET seq = ? WHERE terminal_id = ?", (seq, HEADOFFICE))
