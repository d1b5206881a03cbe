"""Head office's accounts of the members a push touches: read, fold the batch's new entries
in (``accounts.settle``) and write back, under row locks taken as late as they can be."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from loyalty.db import to_text
from loyalty.program import Program
from sync import protocol as p
from sync.headoffice.accounts import StoredEntry, dump_state, load_state, settle
from sync.headoffice.reports import summaries
from sync.headoffice.rows import _MEMBER_COLUMNS, _pending_encoder
from sync.headoffice.store import Row, Tx

_WRITE_ACCOUNT = (
    "UPDATE members SET balance = ?, pending_json = ?, tier_id = ?, tier_progress = ?, "
    "expiring_points = ?, expiring_at = ?, has_purchased = ?, overdrawn = ?, "
    "snapshot_at = ?, state_json = ? WHERE member_id = ?"
)


class AccountFolding:
    """Mixed into HeadOffice: the accounts side of a push."""

    store: Any

    def program(self, tx: Tx) -> Program | None: ...  # HeadOffice's

    def _recompute(
        self,
        tx: Tx,
        member_ids: Iterable[str],
        now: dt.datetime,
        new: Mapping[str, Sequence[StoredEntry]],
        numbers: dict[str, int] | None = None,
    ) -> list[p.MemberState]:
        """Fold each member's new entries onto the account head office keeps for them, and
        answer with their authoritative state (see accounts.settle); ``numbers``: filled with
        each member's number (``kpi_no``, for the KPI summaries), read with the rows. The
        caller records the change for the feed (``_changed``) as the transaction's last
        statement.

        PostgreSQL: concurrent pushes share members (32 pushes of 5,000 entries among a
        million members share a few dozen each), and a member's row lock is held until
        commit, so the work done under those locks decides how many pushes proceed at once.
        The rows are read and folded without locks; one UPDATE writes each account only if
        its row is still the version read (``xmin``), locking it as it goes. The few that
        another push changed meanwhile are then locked, read and folded again. (Locking
        every row first cost a statement and a WAL record per member: 3-4 us an entry.)
        SQLite holds its one write lock throughout and reads them once."""
        ids = sorted(set(member_ids))
        if not ids:
            return []
        stamp = to_text(now)
        concurrent = self.store.dialect != "sqlite"
        rows = self._member_rows(tx, ids, version=concurrent, once=True)
        missing = [m for m in ids if m not in rows]
        if missing:
            # Entries for members head office has not heard of (enrolled at a till whose
            # enrolment is still on its way): a stub, filled in when the enrolment arrives.
            tx.many(
                "INSERT INTO members (member_id, snapshot_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(m, stamp) for m in missing],
            )
            tx.lock_members(ids)  # and read again under the lock
            rows, concurrent = self._member_rows(tx, ids, once=True), False
        if numbers is not None:
            numbers.update((m, int(rows[m][19])) for m in ids)
        program = self.program(tx)
        done = {m: self._account(program, rows[m], new.get(m, ()), now, stamp) for m in ids}
        read = dict(rows)  # each member's row as folded last
        todo = ids
        if concurrent:
            written = tx.update_unchanged(_WRITE_ACCOUNT, [(*done[m][0], rows[m][-1]) for m in ids])
            todo = [m for m in ids if m not in written]
            if todo:  # changed since the read: lock, read and fold again
                tx.lock_members(todo)
                again = self._member_rows(tx, todo, once=True)
                for m in todo:
                    done[m] = self._account(program, again[m], new.get(m, ()), now, stamp)
                read.update(again)
        if todo:
            tx.many(_WRITE_ACCOUNT, [done[m][0] for m in todo])
        moved = [(read[m][8], done[m][0][2]) for m in ids]  # (tier before, tier now)
        summaries.tier_moves(tx, [(a, b) for a, b in moved if a and b and a != b], stamp)
        return [state for m in ids if (state := done[m][1]) is not None]

    @staticmethod
    def _account(
        program: Program | None,
        r: Row,
        entries: Sequence[StoredEntry],
        now: dt.datetime,
        stamp: str,
    ) -> tuple[tuple[Any, ...], p.MemberState | None]:
        """A member's row with new entries folded in: the UPDATE's parameters, and the state
        for the answer (None for an erased member), with the once-only bonuses paid to them
        when the row has them (``_member_rows(once=True)``)."""
        member_id = r[0]
        state = load_state(r[17])
        a = settle(program, state, entries, now)
        update = (
            a.balance,
            _pending_encoder.encode(a.pending).decode(),
            a.tier_id,
            a.tier_progress,
            a.expiring_points,
            a.expiring_at,
            int(a.has_purchased),
            int(a.overdrawn),
            stamp,
            dump_state(state),
            member_id,
        )  # fmt: skip
        if r[16]:
            return update, None
        return update, p.MemberState(
            member_id=member_id,
            snapshot_at=stamp,
            card_number=r[2],
            display_name=r[3],
            language=r[4],
            status=r[5],
            balance=a.balance,
            pending=list(a.pending),
            tier_id=a.tier_id,
            tier_progress=a.tier_progress,
            expiring_points=a.expiring_points,
            expiring_at=a.expiring_at,
            has_purchased=a.has_purchased,
            birthday=r[13],
            phone_hash=r[14],
            overdrawn=a.overdrawn,
            once_paid=sorted(json.loads(r[18]) if len(r) > 18 and r[18] else ()),
        )  # fmt: skip

    def _member_rows(
        self, tx: Tx, ids: Sequence[str], version: bool = False, once: bool = False
    ) -> dict[str, Row]:
        """The members' rows (with state_json); ``once``: and the once-only keys paid to each
        (a JSON array, or NULL), read as ``once.with_once_paid`` would, then the member's
        number (``kpi_no``); ``version``: and the row's version last.

        The keys are a subquery per member, by equality on the key's first column, so the
        index is used at any size of ``once_paid``. Read apart (``member_id = ANY(...)`` of
        the push's 2,500 members) PostgreSQL planned a sequential scan of the table while it
        was small, testing each row against each member: 30-70 ms a push at 1,000-1,300 rows
        (auto_explain), more than the COPY of the push's entries."""
        rows: dict[str, Row] = {}
        extra = ""
        if once:
            keys = (
                "json_agg(o.once_key)::text"
                if self.store.dialect != "sqlite"
                else ("CASE WHEN COUNT(*) THEN json_group_array(o.once_key) END")
            )
            extra += f", (SELECT {keys} FROM once_paid o WHERE o.member_id = members.member_id)"
            extra += ", kpi_no"
        if version:
            extra += f", {tx.row_version}"
        for where, params in tx.matching("member_id", ids):
            found = tx.all(
                f"SELECT {_MEMBER_COLUMNS}, state_json{extra} FROM members WHERE {where}", params
            )
            rows.update((r[0], r) for r in found)
        return rows
