"""Online redemption at head office: hold points for a till, then capture them with the
sale's receipt number or release them; holds expire so a vanished till frees the points."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from loyalty.db import to_text
from sync import protocol as p
from sync.headoffice.rows import ApiProblem
from sync.headoffice.store import Row, Tx


class Holds:
    """Mixed into HeadOffice: hold, capture, release."""

    store: Any
    clock: Callable[[], dt.datetime]

    # -- online redemption: hold, then capture --------------------------------------------------
    def authorise(self, terminal_id: str, req: p.HoldRequest) -> p.Hold:
        now = self.clock()
        with self.store.transaction() as tx:
            tx.lock_members([req.member_id])
            row = tx.one(
                "SELECT balance, status, erased FROM members WHERE member_id = ?", (req.member_id,)
            )
            if row is None or row[2]:
                raise ApiProblem(404, "unknown_member", member=req.member_id)
            if row[1] == "blocked":
                raise ApiProblem(409, "member_blocked", member=req.member_id)
            available = int(row[0]) - self._held(tx, req.member_id, now)
            if req.points > available:
                raise ApiProblem(409, "insufficient_points", available=max(available, 0))
            hold = p.Hold(
                hold_id=str(uuid.uuid4()), member_id=req.member_id, points=req.points,
                status="held", expires_at=to_text(now + dt.timedelta(seconds=req.ttl_seconds)),
                available=available - req.points,
            )  # fmt: skip
            tx.run(
                "INSERT INTO holds (hold_id, member_id, terminal_id, points, status, expires_at, "
                "created_at) VALUES (?, ?, ?, ?, 'held', ?, ?)",
                (
                    hold.hold_id,
                    hold.member_id,
                    terminal_id,
                    hold.points,
                    hold.expires_at,
                    to_text(now),
                ),  # fmt: skip
            )
        return hold

    def _held(self, tx: Tx, member_id: str, now: dt.datetime) -> int:
        tx.run(
            "UPDATE holds SET status = 'expired' WHERE member_id = ? AND status = 'held' "
            "AND expires_at <= ?",
            (member_id, to_text(now)),
        )
        row = tx.one(
            "SELECT COALESCE(SUM(points), 0) FROM holds WHERE member_id = ? "
            "AND status IN ('held', 'captured')",
            (member_id,),
        )
        return int(row[0]) if row else 0

    def capture(self, terminal_id: str, hold_id: str, receipt_no: str) -> p.Hold:
        now = self.clock()
        with self.store.transaction() as tx:
            hold = self._hold(tx, terminal_id, hold_id)
            tx.lock_members([hold[0]])
            status, expires_at, captured_for = hold[2], hold[3], hold[4]
            if status == "held" and expires_at <= to_text(now):
                tx.run("UPDATE holds SET status = 'expired' WHERE hold_id = ?", (hold_id,))
                status = "expired"
            if status in ("captured", "settled") and captured_for == receipt_no:
                pass  # a retried capture
            elif status != "held":
                raise ApiProblem(409, f"hold_{status}", hold_id=hold_id)
            else:
                arrived = tx.one(
                    "SELECT 1 FROM entries WHERE terminal_id = ? AND receipt_no = ? "
                    "AND kind IN ('redeem', 'donate') LIMIT 1",
                    (terminal_id, receipt_no),
                )
                status = "settled" if arrived else "captured"
                tx.run(
                    "UPDATE holds SET status = ?, receipt_no = ? WHERE hold_id = ?",
                    (status, receipt_no, hold_id),
                )
            return p.Hold(hold_id, hold[0], int(hold[1]), status, expires_at)

    def release(self, terminal_id: str, hold_id: str) -> p.Hold:
        with self.store.transaction() as tx:
            hold = self._hold(tx, terminal_id, hold_id)
            status = hold[2]
            if status == "held":
                tx.run("UPDATE holds SET status = 'released' WHERE hold_id = ?", (hold_id,))
                status = "released"
            return p.Hold(hold_id, hold[0], int(hold[1]), status, hold[3])

    def _hold(self, tx: Tx, terminal_id: str, hold_id: str) -> Row:
        row = tx.one(
            "SELECT member_id, points, status, expires_at, receipt_no FROM holds "
            "WHERE hold_id = ? AND terminal_id = ?",
            (hold_id, terminal_id),
        )
        if row is None:
            raise ApiProblem(404, "unknown_hold", hold_id=hold_id)
        return row
