"""A member's activity on the channels (the web shop, the app), as head office's pull brings
it: an order's points, a refund, points used online, an engagement event. The till keeps each
as it came (table ``channel_activity``, append-only) and shows the newest on the member panel
and on the member's receipts, so points earned online are visibly the same balance.

Head office sends the newest few of each member's posts with the member (sync/headoffice/
channels.py); a malformed one is skipped, never half-stored."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

KINDS = ("purchase", "refund", "redemption", "event")
ActivityKind = Literal["purchase", "refund", "redemption", "event"]
_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
_REF = re.compile(r"^[A-Za-z0-9_.:-]{1,64}\Z")
_ACTION = re.compile(r"^[a-z0-9_]{1,32}\Z")
_TIME = re.compile(
    r"^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z\Z"
)
MAX_POINTS = 10**12
SHOWN = 3  # the newest this many are shown


@dataclass(frozen=True, slots=True)
class Activity:
    channel_id: str
    kind: ActivityKind
    ref: str
    member_id: str
    points: int
    amount_minor: int
    action: str | None
    occurred_at: str


def _checked(d: Mapping[str, Any]) -> Activity | None:
    try:
        a = Activity(
            str(d["channel_id"]), d["kind"], str(d["ref"]), str(d["member_id"]),
            d["points"], d["amount_minor"], d.get("action"), str(d["occurred_at"]),
        )  # fmt: skip
    except (KeyError, TypeError):
        return None
    numbers = (a.points, a.amount_minor)
    if (
        a.kind not in KINDS
        or not (_ID.match(a.channel_id) and _ID.match(a.member_id) and _REF.match(a.ref))
        or not _TIME.match(a.occurred_at)
        or not all(type(n) is int and -MAX_POINTS <= n <= MAX_POINTS for n in numbers)
        or (a.action is not None and not (isinstance(a.action, str) and _ACTION.match(a.action)))
    ):
        return None
    return a


def store(conn: sqlite3.Connection, rows: Iterable[Mapping[str, Any]], now: str) -> int:
    """Keep what head office sent that this till did not have; skip a malformed row."""
    found = [a for a in (_checked(r) for r in rows) if a is not None]
    before = conn.total_changes
    conn.executemany(
        "INSERT INTO channel_activity (channel_id, kind, ref, member_id, points, amount_minor, "
        "action, occurred_at, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        [(a.channel_id, a.kind, a.ref, a.member_id, a.points, a.amount_minor, a.action,
          a.occurred_at, now) for a in found],
    )  # fmt: skip
    return conn.total_changes - before


def recent(
    conn: sqlite3.Connection, member_id: str, known_by: str | None = None, limit: int = SHOWN
) -> list[Activity]:
    """The member's newest channel activity, newest first; ``known_by``: only what this till
    had learned of by then (a receipt's time, so its reprint shows the same)."""
    where, params = "member_id = ?", [member_id]
    if known_by is not None:
        where += " AND stored_at <= ?"
        params.append(known_by)
    rows = conn.execute(
        "SELECT channel_id, kind, ref, member_id, points, amount_minor, action, occurred_at "
        f"FROM channel_activity WHERE {where} ORDER BY occurred_at DESC, ref LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [Activity(*tuple(r)) for r in rows]
