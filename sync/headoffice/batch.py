"""Storing one push batch exactly once: each entry at its seq (the till's, plus its chain
segment's offset), its chain checked, the accounts it touches folded, overdrafts flagged.
Mixed into HeadOffice (service.py)."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from loyalty.ledger import entry_hash
from loyalty.program import Program
from sync import protocol as p
from sync.headoffice import (
    engagement,
    epochs,
    offer_uses,
    own_entries,
    phone_keys,
    referrals,
    segments,
)
from sync.headoffice.accounts import StoredEntry
from sync.headoffice.arithmetic import beyond_program
from sync.headoffice.merges import announce, merge
from sync.headoffice.offers import with_offers
from sync.headoffice.once import compensate
from sync.headoffice.reports import summaries
from sync.headoffice.rows import ApiProblem
from sync.headoffice.store import Tx
from sync.headoffice.tier_days import with_tier_days

_ENTRY_COLUMNS = (
    "entry_id", "terminal_id", "seq", "member_id", "kind", "points", "amount_minor", "currency",
    "receipt_no", "reverses", "reward_id", "program_version", "occurred_at", "offline",
    "cashier_id", "reason", "prev_hash", "hash", "received_at", "chain_ok",
)  # fmt: skip

_HELD_COLUMNS = (
    "terminal_id", "seq", "entry_id", "member_id", "prev_hash", "hash", "reason", "body",
    "received_at",
)  # fmt: skip


def _alert_held(tx: Tx, terminal_id: str, rows: Sequence[tuple[Any, ...]], stamp: str) -> None:
    """An alert per reason and member for the entries just held."""
    alert_events(tx, terminal_id, [(row[6], row[3]) for row in rows], stamp)


def alert_events(tx: Tx, terminal_id: str, events: Sequence[tuple[str, str]], stamp: str) -> None:
    """An alert per kind and member of ``events`` (kind, member id) from one till's push: what
    head office's staff look at (``till headoffice alerts``). Events, not daily counts: the
    "day" column holds the time, read back as the day."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for kind, member_id in events:
        counts[(kind, member_id)] += 1
    if not counts:
        return
    tills = json.dumps([terminal_id])
    # One statement for all of them (distinct keys: one day, one row per kind and member), not
    # one round trip each: a night's push flags about fifty members' overdrafts.
    tx.many(
        "INSERT INTO alerts (kind, member_id, day, count, lim, terminal_ids, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, member_id, day) "
        "DO UPDATE SET count = alerts.count + excluded.count",
        [
            (reason, member_id, stamp, count, 0, tills, stamp, stamp)
            for (reason, member_id), count in sorted(counts.items())
        ],
    )


class BatchStore:
    """Mixed into HeadOffice."""

    def _recompute(
        self,
        tx: Tx,
        member_ids: Iterable[str],
        now: dt.datetime,
        new: Mapping[str, Sequence[StoredEntry]],
        numbers: dict[str, int] | None = None,
    ) -> list[p.MemberState]:
        raise NotImplementedError  # AccountFolding's

    def _velocity(self, tx: Tx, stored: Sequence[p.WireEntry], stamp: str) -> None:
        raise NotImplementedError  # VelocityAlerts'

    def program(self, tx: Tx) -> Program | None:
        raise NotImplementedError  # HeadOffice's

    def _store_batch(
        self,
        tx: Tx,
        terminal_id: str,
        req: p.PushRequest,
        now: dt.datetime,
        stamp: str,
        held: Mapping[int, tuple[str, str]] = {},  # noqa: B006 - read only
    ) -> tuple[p.PushAnswer, list[str]]:
        """The answer, and the members whose accounts it touched (sorted). Seqs are the
        till's in the answer and head office's (the till's + the epoch's offset) in storage.
        ``held``: entries to hold rather than credit, by seq (reason, the entry as pushed);
        an entry whose hash does not cover its facts is held too (``chain_broken``)."""
        ep = epochs.current(tx, terminal_id)
        if req.epoch != ep.epoch:
            raise ApiProblem(409, "epoch_stale", epoch=ep.epoch)
        off = ep.offset
        last_seq = epochs.last_stored(tx, terminal_id)[0] - off
        entries = req.entries
        if entries and entries[0].seq < ep.from_seq:
            raise ApiProblem(409, "epoch_stale", epoch=ep.epoch)
        if entries and entries[0].seq > last_seq + 1:
            raise ApiProblem(409, "seq_gap", expected_seq=last_seq + 1)
        enrolled = self._store_enrolments(tx, req.enrolments, stamp)
        rehashes_seen, rehashed = phone_keys.apply(tx, req.phone_rehashes)
        results: list[p.EntryResult] = []
        touched: set[str] = enrolled | rehashed
        acked = last_seq
        stored_now: list[p.WireEntry] = []
        if entries:
            lo, hi = entries[0].seq, entries[-1].seq
            # The usual batch starts right after what head office holds: nothing to compare.
            before: dict[int, tuple[str, str, bool]] = (
                {r[0] - off: r[1:] for r in epochs.slots(tx, terminal_id, lo + off, hi + off)}
                if lo <= last_seq
                else {}
            )
            if lo == ep.from_seq:
                prev = ep.base_hash
            else:
                prev_slot = epochs.slots(tx, terminal_id, lo - 1 + off, lo - 1 + off)
                prev = prev_slot[0][2] if prev_slot else ""
            holding = dict(held)
            program = self.program(tx)
            fresh: list[tuple[Any, ...]] = []
            held_rows: list[tuple[Any, ...]] = []
            chain: dict[int, bool] = {}
            forked = False
            for e in entries:
                linked = e.prev_hash == prev
                hashed = e.seq in holding or (
                    p.chain_hash(e.prev_hash, e) == e.hash
                    or entry_hash(e.prev_hash, p.hash_fields(e)) == e.hash
                )
                chain[e.seq] = linked and hashed
                prev = e.hash
                slot = before.get(e.seq)
                if slot is not None:
                    # Another entry at this seq: the till forked (restored from a backup).
                    # Nothing after it in this batch is stored: it would follow the fork.
                    forked = forked or slot[:2] != (e.entry_id, e.hash)
                    continue
                if forked or not linked:
                    forked = True
                    continue
                if not hashed:
                    # Its facts are not the ones its hash was made of: edited after the fact.
                    holding[e.seq] = ("chain_broken", p.encode(e).decode())
                elif e.seq not in holding and program and beyond_program(program, e):
                    # A sound chain over points no program pays: rewritten with its hashes.
                    holding[e.seq] = ("points_beyond_program", p.encode(e).decode())
                if e.seq in holding:
                    reason, body = holding[e.seq]
                    held_rows.append(
                        (terminal_id, e.seq + off, e.entry_id, e.member_id[:64], e.prev_hash,
                         e.hash, reason, body, stamp)
                    )  # fmt: skip
                    continue
                fresh.append(
                    (
                        e.entry_id,
                        e.terminal_id,
                        e.seq + off,
                        e.member_id,
                        e.kind,
                        e.points,
                        e.amount_minor,
                        e.currency,
                        e.receipt_no,
                        e.reverses,
                        e.reward_id,
                        e.program_version,
                        e.occurred_at,
                        int(e.offline),
                        e.cashier_id,
                        e.reason,
                        e.prev_hash,
                        e.hash,
                        stamp,
                        int(chain[e.seq]),
                    )  # fmt: skip
                )
            inserted = tx.insert_new("entries", _ENTRY_COLUMNS, fresh) if fresh else 0
            if held_rows:
                inserted += tx.insert_new("held_entries", _HELD_COLUMNS, held_rows)
            # The constraints decided; read back what they let in only when they refused some.
            after: dict[int, tuple[str, str, bool]] = (
                {
                    **{row[2] - off: (row[0], row[17], False) for row in fresh},
                    **{row[1] - off: (row[2], row[5], True) for row in held_rows},
                }
                if inserted == len(fresh) + len(held_rows)
                else {r[0] - off: r[1:] for r in epochs.slots(tx, terminal_id, lo + off, hi + off)}
            )
            for e in entries:
                status: p.EntryStatus
                mine = (e.entry_id, e.hash)
                slot = before.get(e.seq)
                now_held = after.get(e.seq)
                if slot is not None and slot[:2] == mine:
                    status = "held" if slot[2] else "duplicate"
                    if not slot[2]:
                        touched.add(e.member_id)  # an earlier answer was lost: send states again
                elif slot is None and now_held is not None and now_held[:2] == mine:
                    status = "held" if now_held[2] else "stored"
                    if not now_held[2]:
                        stored_now.append(e)
                        touched.add(e.member_id)
                else:
                    status = "conflict"
                if status != "conflict" and e.seq == acked + 1:
                    acked = e.seq
                results.append(p.EntryResult(e.seq, e.entry_id, status, chain_ok=chain[e.seq]))
            if held_rows:
                _alert_held(tx, terminal_id, held_rows, stamp)
            self._settle_holds(tx, terminal_id, stored_now)
            self._velocity(tx, stored_now, stamp)
        new: dict[str, list[StoredEntry]] = defaultdict(list)
        for e in stored_now:
            new[e.member_id].append(
                StoredEntry(
                    e.entry_id,
                    e.kind,
                    e.points,
                    e.amount_minor,
                    e.reverses,
                    e.reason,
                    e.occurred_at,
                    stamp,
                )  # fmt: skip
            )
        program = self.program(tx) if stored_now else None
        own = compensate(tx, program, stored_now, stamp, new)
        own += offer_uses.compensate(tx, program, stored_now, stamp, new)
        segments.remember_purchases(tx, req.purchases, stored_now)
        own += engagement.compensate(tx, program, stored_now, stamp, new)
        own += referrals.credit(tx, program, stored_now, stamp, new, touched)
        phones = [e.phone_hash for e in req.enrolments if e.phone_hash] + [
            r.phone_hash for r in req.phone_rehashes if r.member_id in rehashed
        ]
        merged = merge(tx, self.program(tx), phones, stored_now, stamp, new, own)
        touched |= merged
        numbers: dict[str, int] = {}
        states = self._recompute(tx, touched, now, new, numbers)  # with their once_paid keys
        states = with_tier_days(tx, self.program(tx), states, now)
        states = with_offers(tx, self.program(tx), states, now)
        states = referrals.with_codes(tx, states)
        overdrawn = {m.member_id for m in states if m.overdrawn}
        flagged = {
            e.entry_id: e.member_id
            for r, e in zip(results, entries, strict=True)
            if r.status == "stored" and e.points < 0 and e.member_id in overdrawn
        }
        if flagged:
            # Beside the entries, not on them: head office's ledger is append-only too.
            tx.many(
                "INSERT INTO overdrafts (entry_id, member_id, flagged_at) VALUES (?, ?, ?)",
                [(i, m, stamp) for i, m in flagged.items()],
            )
            alert_events(tx, terminal_id, [("overdraft", m) for m in flagged.values()], stamp)
            results = [
                msgspec.structs.replace(r, overdraft=True) if r.entry_id in flagged else r
                for r in results
            ]
        if stored_now:
            ids = {e.entry_id for e in stored_now}
            summaries.stored(
                tx,
                [row for row in fresh if row[0] in ids],
                [(e.terminal_id, e.occurred_at, stamp) for e in entries if e.entry_id in flagged],
                numbers,
            )
        if own:
            # Last but for the answer and the feed: the counter's lock is held to the commit.
            program = program or self.program(tx)
            assert program is not None  # own entries are planned only under a program
            own_entries.number(
                tx, own, currency=program.currency, program_version=program.version, stamp=stamp
            )
        announce(tx, merged)
        answer = p.PushAnswer(
            acked_seq=acked,
            results=results,
            members=states,
            enrolments=sorted(enrolled),
            server_time=stamp,
            epoch=ep.epoch,
            phone_rehashes=rehashes_seen,
        )
        return answer, sorted(touched)

    def _store_enrolments(
        self, tx: Tx, enrolments: Sequence[p.WireEnrolment], stamp: str
    ) -> set[str]:
        out: set[str] = set()
        for en in enrolments:
            created = tx.run(
                "INSERT INTO members (member_id, card_number, display_name, language, phone_hash, "
                "birthday, snapshot_at, consent_at, consent_version, enrolled_at, enrolled_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    en.member_id,
                    en.card_number,
                    en.display_name,
                    en.language,
                    en.phone_hash,
                    en.birthday,
                    en.enrolled_at,
                    en.consent_at,
                    en.consent_version,
                    en.enrolled_at,
                    en.terminal_id,
                ),  # fmt: skip
            )
            row = tx.one(
                "SELECT enrolled_by, erased FROM members WHERE member_id = ?", (en.member_id,)
            )
            if row is not None and row[0] is None and not row[1]:
                # A stub made for entries that arrived first: the enrolment fills it in. Only
                # a stub (no name, no card): a member head office's staff created or changed
                # (PUT /v1/members) or another till enrolled is never overwritten by a till.
                created += tx.run(
                    "UPDATE members SET display_name = ?, language = ?, phone_hash = ?, "
                    "birthday = ?, consent_at = ?, consent_version = ?, enrolled_at = ?, "
                    "enrolled_by = ? WHERE member_id = ? AND enrolled_by IS NULL AND "
                    "display_name = '' AND card_number IS NULL AND erased = 0",
                    (
                        en.display_name,
                        en.language,
                        en.phone_hash,
                        en.birthday,
                        en.consent_at,
                        en.consent_version,
                        en.enrolled_at,
                        en.terminal_id,
                        en.member_id,
                    ),  # fmt: skip
                )
            if row is not None:
                out.add(en.member_id)
                referrals.claim(tx, en.member_id, en.referral_code, stamp)
                if en.referred_by:
                    referrals.record(
                        tx, en.member_id, en.referred_by, en.terminal_id, stamp, created > 0
                    )
        return out

    def _settle_holds(self, tx: Tx, terminal_id: str, stored: Sequence[p.WireEntry]) -> None:
        receipts = sorted(
            {e.receipt_no for e in stored if e.receipt_no and e.kind in ("redeem", "donate")}
        )
        for where, params in tx.matching("receipt_no", receipts):  # not one per receipt
            tx.run(
                "UPDATE holds SET status = 'settled' WHERE terminal_id = ? AND status = 'captured' "
                f"AND {where}",
                (terminal_id, *params),
            )
