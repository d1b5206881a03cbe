"""Segments of members, evaluated by the database: who a personal offer is for.

A segment is a conjunction of conditions (sync/protocol_offers.Segment): a tier, a category
bought in the last N days (``member_categories``, kept from the tills' pushes), a birthday
month, lapsed N days (a purchase once, none in the last N days), an explicit list of members.
Only active members count (not erased, not blocked, not merged into another). The SQL is one
statement of ``?`` placeholders that runs on SQLite and PostgreSQL alike; a list of members is
matched in pieces (``Tx.matching``), so the statement never holds more than 500 ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from loyalty.program import Program
from sync import protocol as p
from sync.headoffice.store import Tx
from sync.protocol_offers import Segment, WirePurchase

ACTIVE = "m.erased = 0 AND m.status = 'active' AND m.member_id NOT IN (SELECT dup_id FROM merges)"


def today(program: Program | None, now: dt.datetime) -> dt.date:
    """Head office's shop day: the program's calendar (UTC when none is published)."""
    return now.astimezone(program.timezone).date() if program else now.astimezone(dt.UTC).date()


def conditions(
    segment: Segment, program: Program | None, now: dt.datetime
) -> tuple[str, list[Any]]:
    """The segment as a WHERE condition on ``members m`` (without its list of members)."""
    where = [ACTIVE]
    params: list[Any] = []
    if segment.tiers:
        marks = ", ".join("?" * len(segment.tiers))
        tier = f"m.tier_id IN ({marks})"
        if program is not None and program.tiers[0].id in segment.tiers:
            tier = f"({tier} OR m.tier_id IS NULL)"  # no tier yet: the first
        where.append(tier)
        params += list(segment.tiers)
    day = today(program, now)
    if segment.bought_category is not None:
        since = (day - dt.timedelta(days=segment.bought_days)).isoformat()
        where.append(
            "EXISTS (SELECT 1 FROM member_categories c WHERE c.member_id = m.member_id "
            "AND c.category = ? AND c.last_day > ?)"
        )
        params += [segment.bought_category, since]
    if segment.birthday_month is not None:
        where.append("substr(m.birthday, 1, 2) = ?")
        params.append(f"{segment.birthday_month:02d}")
    if segment.lapsed_days is not None:
        # Entries' times are fixed-width UTC text: they compare as they sort.
        cutoff = (now - dt.timedelta(days=segment.lapsed_days)).astimezone(dt.UTC)
        stamp = cutoff.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        where.append(
            "m.has_purchased = 1 AND NOT EXISTS (SELECT 1 FROM entries e WHERE "
            "e.member_id = m.member_id AND e.kind = 'earn' AND e.occurred_at >= ?)"
        )
        params.append(stamp)
    return " AND ".join(where), params


def pieces(
    tx: Tx, segment: Segment, program: Program | None, now: dt.datetime
) -> Iterator[tuple[str, list[Any]]]:
    """(condition, parameters) to run one statement each: the whole segment, or its list of
    members in pieces."""
    where, params = conditions(segment, program, now)
    if not segment.members:
        yield where, params
        return
    for ids, ids_params in tx.matching("m.member_id", sorted(set(segment.members))):
        yield f"{where} AND {ids}", [*params, *ids_params]


def count(tx: Tx, segment: Segment, program: Program | None, now: dt.datetime) -> int:
    total = 0
    for where, params in pieces(tx, segment, program, now):
        row = tx.one(f"SELECT COUNT(*) FROM members m WHERE {where}", params)
        total += int(row[0]) if row else 0
    return total


def active_members(tx: Tx) -> int:
    row = tx.one(f"SELECT COUNT(*) FROM members m WHERE {ACTIVE}")
    return int(row[0]) if row else 0


def insert_into(
    tx: Tx, offer_id: str, segment: Segment, program: Program | None, now: dt.datetime
) -> list[str]:
    """Give the offer to every member of the segment who has not got it (``offer_members``),
    in the database: the members it was given to now."""
    out: list[str] = []
    for where, params in pieces(tx, segment, program, now):
        out += [
            r[0]
            for r in tx.all(
                "INSERT INTO offer_members (member_id, offer_id, used) "
                f"SELECT m.member_id, ?, 0 FROM members m WHERE {where} "
                "ON CONFLICT DO NOTHING RETURNING member_id",
                [offer_id, *params],
            )
        ]
    return sorted(out)


def remember_purchases(
    tx: Tx, purchases: Sequence[WirePurchase], stored: Sequence[p.WireEntry]
) -> None:
    """Keep the last shop day each member bought each category, from a push's purchases of
    members whose entries this push stored (a replayed or unrelated purchase changes nothing
    it would not have)."""
    if not purchases:
        return
    members = {e.member_id for e in stored}
    rows = sorted(
        {
            (x.member_id, category, x.day)
            for x in purchases
            if x.member_id in members
            for category in x.categories
        }  # fmt: skip
    )
    remember(tx, rows)


def remember(tx: Tx, rows: Sequence[tuple[str, str, str]]) -> None:
    """(member, category, shop day) bought: keep each member's last day per category (from a
    till's push or a channel's order)."""
    last: dict[tuple[str, str], str] = {}
    for member_id, category, day in rows:  # one row a key: PostgreSQL's upsert of many rows
        key = (member_id, category)  # may not touch one row twice
        last[key] = max(day, last.get(key, day))
    if not last:
        return
    rows = sorted((m, c, day) for (m, c), day in last.items())
    tx.many(
        "INSERT INTO member_categories (member_id, category, last_day) VALUES (?, ?, ?) "
        "ON CONFLICT (member_id, category) DO UPDATE SET last_day = excluded.last_day "
        "WHERE excluded.last_day > member_categories.last_day",
        rows,
    )
