"""A till's chain segments ("epochs"): how head office takes the entries of a till restored
from a backup without losing or doubling any.

A restored till numbers its new entries with seqs head office already holds for the sales the
backup lost. Those numbers cannot be used twice, and the till's ledger cannot be renumbered (its
entries are hash-chained and append-only). So the till asks for a new segment: its entries from
``from_seq`` on are stored after everything head office holds for it (head office's seq =
the till's seq + ``seq_offset``), the segment's first entry links to ``base_hash`` (an entry
head office holds), and pushes of an older segment are refused. Epoch 0 is every till's first
segment (offset 0, from seq 1, linked to the genesis hash) and has no row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from loyalty.ledger import GENESIS
from sync import protocol as p
from sync.headoffice.rows import ApiProblem
from sync.headoffice.store import Tx


@dataclass(frozen=True, slots=True)
class Epoch:
    epoch: int = 0
    from_seq: int = 1
    offset: int = 0
    base_hash: str = GENESIS


def current(tx: Tx, terminal_id: str) -> Epoch:
    row = tx.one(
        "SELECT epoch, from_seq, seq_offset, base_hash FROM till_epochs WHERE terminal_id = ? "
        "ORDER BY epoch DESC LIMIT 1",
        (terminal_id,),
    )
    return Epoch(int(row[0]), int(row[1]), int(row[2]), row[3]) if row else Epoch()


def last_stored(tx: Tx, terminal_id: str) -> tuple[int, str | None]:
    """Head office's own last seq of the till and that entry's hash (0, None when none),
    counting the entries it holds without crediting them (``held_entries``)."""
    best: tuple[int, str | None] = (0, None)
    for table in ("entries", "held_entries"):
        row = tx.one(
            f"SELECT seq, hash FROM {table} WHERE terminal_id = ? ORDER BY seq DESC LIMIT 1",
            (terminal_id,),
        )
        if row is not None and int(row[0]) > best[0]:
            best = (int(row[0]), row[1])
    return best


# Every entry head office holds for a till, credited or held, by its place in the chain.
SLOTS = (
    "SELECT seq, entry_id, hash, 0 FROM entries WHERE terminal_id = ? AND seq BETWEEN ? AND ? "
    "UNION ALL SELECT seq, entry_id, hash, 1 FROM held_entries WHERE terminal_id = ? "
    "AND seq BETWEEN ? AND ?"
)


def slots(tx: Tx, terminal_id: str, lo: int, hi: int) -> list[tuple[int, str, str, bool]]:
    """(seq, entry id, hash, held) of head office's seqs ``lo`` to ``hi`` of the till."""
    rows = tx.all(SLOTS, (terminal_id, lo, hi, terminal_id, lo, hi))
    return [(int(r[0]), r[1], r[2], bool(r[3])) for r in rows]


def open_epoch(tx: Tx, terminal_id: str, req: p.EpochRequest, stamp: str) -> p.EpochAnswer:
    """Start a new segment where the till's unacknowledged entries stop matching what head
    office holds; or none, when the till is simply behind (it then gets the held entries to
    acknowledge and keeps its segment). Must run with the till locked."""
    ep = current(tx, terminal_id)
    if req.epoch > ep.epoch:
        raise ApiProblem(409, "epoch_unknown", epoch=ep.epoch)
    held_rows: dict[str, str] = {}
    ids = [e.entry_id for e in req.entries]
    for where, params in tx.matching("entry_id", ids):
        for table in ("entries", "held_entries"):
            held_rows.update(
                tx.all(
                    f"SELECT entry_id, hash FROM {table} WHERE terminal_id = ? AND {where}",
                    (terminal_id, *params),
                )
            )
    held: list[str] = []
    for e in req.entries:
        if held_rows.get(e.entry_id) != e.hash:
            from_seq, base = e.seq, e.prev_hash
            break
        held.append(e.entry_id)
    else:
        if req.entries:
            from_seq, base = req.entries[-1].seq + 1, req.entries[-1].hash
        else:
            from_seq, base = req.next_seq, req.last_hash
    last_seq, _ = last_stored(tx, terminal_id)
    last_till_seq = last_seq - ep.offset
    if req.epoch == ep.epoch and from_seq > last_till_seq:
        # Nothing of head office's is in the way: no new segment.
        return p.EpochAnswer(ep.epoch, ep.from_seq, held, 0)
    if not _holds(tx, terminal_id, from_seq, base):
        raise ApiProblem(409, "epoch_base_unknown", from_seq=from_seq)
    lost = max(0, last_till_seq - from_seq + 1) if req.epoch == ep.epoch else 0
    new = Epoch(ep.epoch + 1, from_seq, last_seq - from_seq + 1, base)
    tx.run(
        "INSERT INTO till_epochs (terminal_id, epoch, from_seq, seq_offset, base_hash, lost, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (terminal_id, new.epoch, new.from_seq, new.offset, new.base_hash, lost, stamp),
    )
    # An event, not a daily count: its "day" column holds the whole time, so each restore is
    # its own alert (the alerts' key is kind, member and day); it is read back as the day.
    tx.run(
        "INSERT INTO alerts (kind, member_id, day, count, lim, terminal_ids, created_at, "
        "updated_at) VALUES ('till_restored', '', ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (stamp, lost, new.epoch, json.dumps([terminal_id]), stamp, stamp),
    )
    receipt = tx.one(
        "SELECT MAX(receipt_no) FROM entries WHERE terminal_id = ? AND receipt_no IS NOT NULL",
        (terminal_id,),
    )
    return p.EpochAnswer(new.epoch, new.from_seq, held, lost, receipt[0] if receipt else None)


def _holds(tx: Tx, terminal_id: str, from_seq: int, base: str) -> bool:
    """The new segment links to the genesis hash at seq 1, or to an entry head office holds
    for this till (its hash covers its seq, so a match is the entry just before ``from_seq``)."""
    if from_seq == 1:
        return base == GENESIS
    return any(
        tx.one(f"SELECT 1 FROM {table} WHERE terminal_id = ? AND hash = ?", (terminal_id, base))
        for table in ("entries", "held_entries")
    )
