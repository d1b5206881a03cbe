"""Head office's review of the entries it holds without crediting them (``held_entries``: an
entry that broke the protocol's rules, its hash chain or the program's arithmetic).

An admin lists them and decides each once, after looking at it:

- **release**: the entry's points are credited by head office's own entry (``@headoffice``,
  kind ``adjust``, reason ``released:<entry id>``, see own_entries.py), whose id is derived
  from the held entry's place, so a retried or concurrent release credits it once. The held
  entry itself stays as it was pushed: the ledger is append-only. Only an entry that reads as
  the protocol's entry can be released (``held_not_creditable`` otherwise: reject it), and
  none beyond the program's largest entry (``held_beyond_limits``).
- **reject**: nothing is credited.

Either way the decision (who, when, why) is a row of ``held_decisions`` that is never changed;
its primary key (the held entry's till and seq) makes the first decision the only one (a retry
of the same decision answers as the first did, another is ``held_already_decided``). When no
entry of an alert is left undecided, the alert is acknowledged. The member's new state and the
decision go into the change feed: every till pulls the balance, and the till that pushed the
entry learns the outcome (``ChangesAnswer.held_decided``) and stops counting it as held.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from loyalty.db import to_text
from loyalty.program import Program
from sync import protocol as p
from sync.headoffice import own_entries
from sync.headoffice.accounts import StoredEntry
from sync.headoffice.own_entries import OwnEntry
from sync.headoffice.rows import ApiProblem
from sync.headoffice.store import Row, Tx

RELEASED, REJECTED = "released", "rejected"
_DECISIONS = {"release": RELEASED, "reject": REJECTED}
_LISTED = (
    "SELECT h.entry_id, h.terminal_id, h.seq, h.member_id, h.reason, h.received_at, h.body, "
    "d.decision, d.reason, d.decided_by, d.decided_at, d.credit_entry_id FROM held_entries h "
    "LEFT JOIN held_decisions d ON d.terminal_id = h.terminal_id AND d.seq = h.seq"
)
_PLACE = f"{_LISTED} WHERE h.terminal_id = ? AND h.seq = ?"
_entry_decoder = msgspec.json.Decoder(p.WireEntry)


def _held_entry(r: Row) -> p.HeldEntry:
    kind: str | None = None
    points: int | None = None
    try:
        body = json.loads(r[6])
    except ValueError:
        body = None
    if isinstance(body, dict):
        kind = body.get("kind") if isinstance(body.get("kind"), str) else None
        raw = body.get("points")
        points = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    return p.HeldEntry(
        entry_id=r[0], terminal_id=r[1], seq=int(r[2]), member_id=r[3], held_for=r[4],
        received_at=r[5], kind=(kind or "")[:16] or None, points=points, decision=r[7],
        reason=r[8], decided_by=r[9], decided_at=r[10], credit_entry_id=r[11],
    )  # fmt: skip


def outcomes(
    tx: Tx, terminal_id: str | None, entry_ids: Sequence[str] | None
) -> list[p.HeldOutcome]:
    """The decisions on ``terminal_id``'s held entries (all of them when ``entry_ids`` is
    None): what a till's pull carries so it stops counting them as held."""
    if terminal_id is None or (entry_ids is not None and not entry_ids):
        return []
    sql = "SELECT entry_id, decision FROM held_decisions WHERE terminal_id = ?"
    if entry_ids is None:
        rows = tx.all(f"{sql} ORDER BY seq", (terminal_id,))
    else:
        rows = []
        for where, params in tx.matching("entry_id", list(entry_ids)):
            rows += tx.all(f"{sql} AND {where}", (terminal_id, *params))
    return [p.HeldOutcome(r[0], r[1]) for r in rows]


class HeldReview:
    """Mixed into HeadOffice."""

    store: Any

    def program(self, tx: Tx) -> Program | None:
        raise NotImplementedError  # HeadOffice's

    def _recompute(
        self,
        tx: Tx,
        member_ids: Iterable[str],
        now: dt.datetime,
        new: Mapping[str, Sequence[StoredEntry]],
    ) -> list[p.MemberState]:
        raise NotImplementedError  # AccountFolding's

    def _changed(
        self, tx: Tx, changes: Sequence[tuple[str, str]], origin: str | None = None
    ) -> None:
        raise NotImplementedError  # HeadOffice's

    def held(self, decided: bool = False, limit: int = 1000) -> p.HeldAnswer:
        """The held entries awaiting a decision, oldest first (with ``decided``, the decided
        ones too)."""
        where = "" if decided else " WHERE d.decision IS NULL"
        with self.store.transaction() as tx:
            rows = tx.all(
                f"{_LISTED}{where} ORDER BY h.received_at, h.terminal_id, h.seq LIMIT ?",
                (max(1, min(limit, 5000)),),
            )
        return p.HeldAnswer([_held_entry(r) for r in rows])

    def decide_held(
        self, entry_id: str, req: p.HeldDecisionRequest, now: dt.datetime
    ) -> p.HeldEntry:
        """Release or reject the held entry ``entry_id`` (see the module's text)."""
        stamp = to_text(now)
        decision = _DECISIONS[req.decision]
        with self.store.transaction() as tx:
            rows = tx.all(f"{_LISTED} WHERE h.entry_id = ? ORDER BY h.seq LIMIT 2", (entry_id,))
            if not rows:
                raise ApiProblem(404, "unknown_held_entry", entry_id=entry_id)
            if len(rows) > 1:  # one id pushed at two places of a chain: decide neither blind
                raise ApiProblem(409, "held_entry_ambiguous", entry_id=entry_id)
            row = rows[0]
            terminal_id, seq, member_id = row[1], int(row[2]), row[3]
            if row[7] is not None:
                return self._decided(row, decision)
            credit: OwnEntry | None = None
            if decision == RELEASED:
                credit = self._credit(tx, row)
            inserted = tx.run(
                "INSERT INTO held_decisions (terminal_id, seq, entry_id, decision, reason, "
                "decided_by, decided_at, credit_entry_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (terminal_id, seq, entry_id, decision, req.reason, req.decided_by, stamp,
                 credit.entry_id if credit else None),
            )  # fmt: skip
            if not inserted:  # another process decided it meanwhile (PostgreSQL waited for it)
                again = tx.one(_PLACE, (terminal_id, seq))
                assert again is not None
                return self._decided(again, decision)
            changes = [("held", entry_id)]
            if credit is not None:
                program = self.program(tx)
                entry = _entry_decoder.decode(row[6])
                # The member's row before head office's entry counter, as a push takes them.
                planned = own_entries.plan(tx, [credit], stamp)
                new = {member_id: [stored for _, stored in planned]}
                self._recompute(tx, [member_id], now, new)
                own_entries.number(
                    tx, [x for x, _ in planned],
                    currency=program.currency if program else entry.currency,
                    program_version=program.version if program else entry.program_version,
                    stamp=stamp,
                )  # fmt: skip
                changes.insert(0, ("members", json.dumps([member_id])))
            self._acknowledge_alert(tx, row, stamp)
            self._changed(tx, changes)  # last: it waits for other writers of changes
            final = tx.one(_PLACE, (terminal_id, seq))
        assert final is not None
        return _held_entry(final)

    def _credit(self, tx: Tx, row: Row) -> OwnEntry:
        """Head office's entry that credits the held entry ``row``, if it can be credited."""
        try:
            entry = _entry_decoder.decode(row[6])
        except msgspec.DecodeError:
            raise ApiProblem(409, "held_not_creditable", entry_id=row[0]) from None
        if entry.member_id != row[3] or entry.terminal_id != row[1]:
            raise ApiProblem(409, "held_not_creditable", entry_id=row[0])
        program = self.program(tx)
        if program is not None and abs(entry.points) > program.limits.max_entry_points:
            # Nothing beyond the program's largest entry reaches the ledger (DESIGN.md), not
            # even by an admin's click on an entry a barcode put ten trillion points in.
            raise ApiProblem(
                409, "held_beyond_limits", entry_id=row[0],
                limit=program.limits.max_entry_points,
            )  # fmt: skip
        member = tx.one("SELECT erased FROM members WHERE member_id = ?", (entry.member_id,))
        if member is not None and member[0]:
            raise ApiProblem(409, "member_erased", member=entry.member_id)
        return OwnEntry(
            key=f"release:{row[1]}:{int(row[2])}", member_id=entry.member_id, kind="adjust",
            points=entry.points, reason=f"{RELEASED}:{entry.entry_id}",
        )  # fmt: skip

    @staticmethod
    def _decided(row: Row, decision: str) -> p.HeldEntry:
        """A decision asked for an entry already decided: the same one again is answered as
        it was (a retry); another is refused."""
        if row[7] != decision:
            raise ApiProblem(409, "held_already_decided", entry_id=row[0], decision=row[7])
        return _held_entry(row)

    @staticmethod
    def _acknowledge_alert(tx: Tx, row: Row, stamp: str) -> None:
        """Acknowledge the alert the held entry raised once none of its entries is left
        undecided (an alert counts a member's entries held from one push)."""
        member_id, held_for, received_at = row[3], row[4], row[5]
        left = tx.one(
            "SELECT 1 FROM held_entries h LEFT JOIN held_decisions d ON d.terminal_id = "
            "h.terminal_id AND d.seq = h.seq WHERE h.member_id = ? AND h.reason = ? AND "
            "h.received_at = ? AND d.decision IS NULL LIMIT 1",
            (member_id, held_for, received_at),
        )
        if left is not None:
            return
        tx.run(
            "INSERT INTO alert_acks (alert_id, acknowledged_at) SELECT alert_id, ? FROM alerts "
            "WHERE kind = ? AND member_id = ? AND day = ? ON CONFLICT (alert_id) DO NOTHING",
            (stamp, held_for, member_id, received_at),
        )
