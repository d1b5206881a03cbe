"""Velocity alerts: a member redeeming more often in one day than a shopper plausibly does,
raised while a push is stored and read by head office's desk (``alerts``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sync import protocol as p
from sync.headoffice.rows import ApiProblem
from sync.headoffice.store import Tx

REDEEM_KINDS = ("redeem", "donate")
# Redemptions of one member in one day (by the entries' occurred_at, UTC) that raise a
# ``velocity`` alert: more than a shopper plausibly makes, so a stolen card or a cashier
# redeeming for themselves shows on head office's desk the day the tills sync.
VELOCITY_LIMIT = 10


class VelocityAlerts:
    """Mixed into HeadOffice."""

    store: Any
    velocity_limit: int

    def _velocity(self, tx: Tx, stored: Sequence[p.WireEntry], stamp: str) -> None:
        """Raise (or update) a velocity alert for each member and day whose redemptions, with
        the ones just stored, reach the limit."""
        days = {
            (e.member_id, e.occurred_at[:10])
            for e in stored
            if e.kind in REDEEM_KINDS and e.points < 0
        }
        # One query per member and day, by equality on the member: a query for many members
        # at once (member_id IN (...)) was planned as a sequential scan of the entries table
        # while its statistics were young (bench/chain.py --statements, auto_explain).
        for member_id, day in sorted(days):
            rows = tx.all(
                "SELECT terminal_id, COUNT(*) FROM entries WHERE member_id = ? AND kind IN (?, ?) "
                "AND points < 0 AND substr(occurred_at, 1, 10) = ? GROUP BY terminal_id",
                (member_id, *REDEEM_KINDS, day),
            )
            count = sum(int(r[1]) for r in rows)
            if count < self.velocity_limit:
                continue
            tills = json.dumps(sorted(r[0] for r in rows))
            tx.run(
                "INSERT INTO alerts (kind, member_id, day, count, lim, terminal_ids, created_at, "
                "updated_at) VALUES ('velocity', ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (kind, member_id, day) DO UPDATE SET count = excluded.count, "
                "terminal_ids = excluded.terminal_ids, updated_at = excluded.updated_at",
                (member_id, day, count, self.velocity_limit, tills, stamp, stamp),
            )

    def alerts(self, after: int = 0, limit: int = 500) -> p.AlertsAnswer:
        """Alerts with an id above ``after``, oldest first (an updated alert keeps its id),
        each with when head office's staff acknowledged it, if they did."""
        with self.store.transaction() as tx:
            rows = tx.all(
                "SELECT a.alert_id, a.kind, a.member_id, a.day, a.count, a.lim, a.terminal_ids, "
                "a.created_at, a.updated_at, k.acknowledged_at FROM alerts a "
                "LEFT JOIN alert_acks k ON k.alert_id = a.alert_id "
                "WHERE a.alert_id > ? ORDER BY a.alert_id LIMIT ?",
                (after, max(1, min(limit, 5000))),
            )
        return p.AlertsAnswer(
            [
                p.Alert(
                    int(r[0]),
                    r[1],
                    r[2],
                    r[3][:10],
                    int(r[4]),
                    int(r[5]),
                    json.loads(r[6]),
                    r[7],
                    r[8],
                    r[9],
                )  # fmt: skip
                for r in rows
            ]
        )

    def acknowledge_alert(self, alert_id: int, stamp: str) -> None:
        """Head office's staff looked at it (acknowledged once; again is a no-op)."""
        with self.store.transaction() as tx:
            if tx.one("SELECT 1 FROM alerts WHERE alert_id = ?", (alert_id,)) is None:
                raise ApiProblem(404, "unknown_alert", alert_id=alert_id)
            tx.run(
                "INSERT INTO alert_acks (alert_id, acknowledged_at) VALUES (?, ?) "
                "ON CONFLICT (alert_id) DO NOTHING",
                (alert_id, stamp),
            )
