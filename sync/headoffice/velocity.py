"""Velocity alerts: a member redeeming more often in one day than a shopper plausibly does,
raised while a push is stored and read by head office's desk (``alerts``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sync import protocol as p
from sync.headoffice.rows import ApiProblem
from sync.headoffice.store import Row, Tx

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
        counts: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for member_id, day, terminal_id, n in self._redemptions(tx, sorted(days)):
            counts.setdefault((member_id, day), []).append((terminal_id, int(n)))
        raised = [
            (member_id, day, total, self.velocity_limit,
             json.dumps(sorted(t for t, _ in tills)), stamp, stamp)
            for (member_id, day), tills in sorted(counts.items())
            if (total := sum(n for _, n in tills)) >= self.velocity_limit
        ]  # fmt: skip
        if raised:
            tx.many(
                "INSERT INTO alerts (kind, member_id, day, count, lim, terminal_ids, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (kind, member_id, day) DO UPDATE SET count = excluded.count, "
                "terminal_ids = excluded.terminal_ids, updated_at = excluded.updated_at",
                [("velocity", *row) for row in raised],
            )

    def _redemptions(self, tx: Tx, days: Sequence[tuple[str, str]]) -> list[Row]:
        """(member, day, till, redemptions) for each of ``days`` (member, day) with any.

        Looked up by equality on the member, so the member index is used whatever the
        statistics say: a query for many members at once (``member_id IN (...)``) was
        planned as a sequential scan of the entries table while its statistics were young
        (bench/chain.py --statements, auto_explain). On PostgreSQL that is one statement (a
        lateral subquery per member and day, which the planner cannot flatten into a join)
        instead of one round trip per member: a night's push has about fifty of them."""
        if not days:
            return []
        per_day = (
            "SELECT terminal_id, COUNT(*) AS n FROM entries WHERE member_id = {m} "
            "AND kind IN (?, ?) AND points < 0 AND substr(occurred_at, 1, 10) = {d} "
            "GROUP BY terminal_id"
        )
        if self.store.dialect == "sqlite":
            out: list[Row] = []
            for member_id, day in days:
                rows = tx.all(per_day.format(m="?", d="?"), (member_id, *REDEEM_KINDS, day))
                out.extend((member_id, day, *r) for r in rows)
            return out
        lateral = per_day.format(m="d.r->>0", d="d.r->>1")
        return tx.all(
            "SELECT d.r->>0, d.r->>1, c.terminal_id, c.n "
            "FROM jsonb_array_elements(?::jsonb) AS d(r) "
            f"CROSS JOIN LATERAL ({lateral}) AS c",
            (json.dumps(days), *REDEEM_KINDS),
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
