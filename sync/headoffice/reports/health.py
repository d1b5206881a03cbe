"""Sync health per till: when its last push arrived, how old the oldest entry of that push was
(its queue's age when it got through), how long ago that was, its open alerts, the entries
head office holds from it undecided, and whether it is suspended or revoked."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from loyalty.db import from_text
from sync.headoffice.own_entries import HEADOFFICE
from sync.headoffice.reports.sql import n
from sync.headoffice.store import Tx


def _seconds(later: str, earlier: str) -> int:
    return max(0, int((from_text(later) - from_text(earlier)).total_seconds()))


def last_pushes(tx: Tx, shop: str | None = None) -> dict[str, tuple[str, str]]:
    """Each till's last push (when head office received its latest entry) and the oldest
    entry of that push, read from the ledger."""
    # One till's report reads that till's entries only (its unique (terminal_id, seq) index).
    mine, mine_params = ("terminal_id = ?", [shop]) if shop else ("terminal_id <> ?", [HEADOFFICE])
    last: dict[str, Any] = dict(
        tx.all(
            f"SELECT terminal_id, MAX(received_at) FROM entries WHERE {mine} GROUP BY terminal_id",
            mine_params,
        )
    )
    oldest: dict[str, Any] = dict(
        tx.all(
            "SELECT e.terminal_id, MIN(e.occurred_at) FROM entries e JOIN (SELECT terminal_id, "
            f"MAX(received_at) AS r FROM entries WHERE {mine} GROUP BY terminal_id) l "
            "ON e.terminal_id = l.terminal_id AND e.received_at = l.r GROUP BY e.terminal_id",
            mine_params,
        )
    )
    return {str(t): (str(r), str(oldest[t])) for t, r in last.items()}


def tills(
    tx: Tx,
    now: dt.datetime,
    shop: str | None = None,
    pushes: dict[str, tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """``pushes``: ``last_pushes`` read elsewhere (the summaries), else from the ledger."""
    where, params = ("WHERE terminal_id = ?", [shop]) if shop else ("", [])
    rows = tx.all(f"SELECT terminal_id, revoked FROM tills {where} ORDER BY terminal_id", params)
    if pushes is None:
        pushes = last_pushes(tx, shop)
    last = {t: p[0] for t, p in pushes.items()}
    oldest = {t: p[1] for t, p in pushes.items()}
    held: dict[str, Any] = dict(
        tx.all(
            "SELECT h.terminal_id, COUNT(*) FROM held_entries h LEFT JOIN held_decisions d "
            "ON d.terminal_id = h.terminal_id AND d.seq = h.seq WHERE d.seq IS NULL "
            "GROUP BY h.terminal_id"
        )
    )
    suspended = {r[0] for r in tx.all("SELECT terminal_id FROM till_suspensions")}
    alerts: dict[str, int] = {}
    for (ids,) in tx.all(
        "SELECT a.terminal_ids FROM alerts a LEFT JOIN alert_acks k ON k.alert_id = a.alert_id "
        "WHERE k.alert_id IS NULL"
    ):
        for terminal_id in json.loads(ids) if str(ids).startswith("[") else [ids]:
            alerts[terminal_id] = alerts.get(terminal_id, 0) + 1
    stamp = now.astimezone(dt.UTC)
    out = []
    for terminal_id, revoked in rows:
        pushed = last.get(terminal_id)
        out.append(
            {
                "terminal_id": terminal_id,
                "last_push": pushed,
                "since_last_push_s": (
                    max(0, int((stamp - from_text(pushed)).total_seconds())) if pushed else None
                ),
                "queue_age_at_last_push_s": (
                    _seconds(pushed, oldest[terminal_id])
                    if pushed and terminal_id in oldest
                    else None
                ),
                "open_alerts": alerts.get(terminal_id, 0),
                "held_undecided": n(held.get(terminal_id)),
                "suspended": terminal_id in suspended,
                "revoked": bool(revoked),
            }
        )
    return out
