"""Engagement events at head office: a channel's post of an action (channels.py stores it),
and the cap and minimum account age of the program's rule for it (loyalty/engagement.py), held
chain-wide and exactly once.

A member's payments of an action in a period are numbered slots, ``engagement_claims``'s
primary key (member, action, period, slot): a payment claims the first free slot up to the
rule's cap, so two payments at once (two channels' posts, two tills' pushes) cannot both take
the last one; PostgreSQL's unique index makes the second wait for the first and then find it
taken. A channel's post holds its member's row as well, so the second is refused
(``engagement_capped``) and stores nothing. A till records an action offline in good faith
(``at_till`` rules); head office claims its slot when the push arrives and takes back an
entry that finds none (or a too-young account), as with once-only bonuses (once.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from loyalty import engagement
from loyalty.db import from_text
from loyalty.engagement import EngagementRule
from loyalty.program import Program
from sync import channel_protocol as cp
from sync import protocol as p
from sync.headoffice import own_entries
from sync.headoffice.accounts import StoredEntry
from sync.headoffice.channels import Context, Planned, Post, claim_fact, member_row
from sync.headoffice.own_entries import OwnEntry
from sync.headoffice.rows import ApiProblem
from sync.headoffice.store import Tx

if TYPE_CHECKING:
    from sync.headoffice.service import HeadOffice

# Head office's reasons for taking back a till's engagement entry (``<reason>:<action>``);
# reports count them with head office's other compensations (reports/sql.py).
CAPPED = "engagement_capped"
TOO_YOUNG = "engagement_too_young"
NOT_AT_TILL = "engagement_not_at_till"
ABOVE_RULE = "engagement_above_rule"


def event(ctx: Context, req: cp.ChannelEvent) -> Post:
    """A channel's engagement event: the rule's points, or a refusal that says why."""
    rule = ctx.program.engagement_rule(req.action)
    if rule is None:
        raise ApiProblem(422, "unknown_action", action=req.action)
    member_id, row = member_row(ctx, req.member_id)
    if row[0] == "blocked":
        raise ApiProblem(409, "member_blocked", member=member_id)
    fact = f"event:{req.event_id}"
    claim_fact(ctx, fact, member_id, 0, req.action)
    since = account_since(ctx.tx, member_id, row[5])
    why = claim(ctx.tx, ctx.program, rule, member_id, since, ctx.now,
                ctx.entry_id(fact, rule.reason), ctx.stamp, req.event_id)  # fmt: skip
    if why is not None:
        code, params = why
        if code == "account_too_young":
            raise ApiProblem(409, "account_too_young", member=member_id, **params)
        raise ApiProblem(409, "engagement_capped", member=member_id, **params)
    entry = Planned(rule.reason, "bonus", rule.points, rule.reason)
    return Post(member_id, fact, req.event_id, None, ctx.when(req.occurred_at), [entry],
                detail=req.action)  # fmt: skip


def account_since(tx: Tx, member_id: str, enrolled_at: str | None) -> dt.datetime | None:
    """When the member's account opened: its enrolment, else its first entry head office
    received (a member head office was told of without an enrolment), else unknown."""
    if enrolled_at:
        return from_text(enrolled_at)
    first = tx.one(
        "SELECT received_at FROM entries WHERE member_id = ? ORDER BY id LIMIT 1", (member_id,)
    )
    return from_text(first[0]) if first else None


def claim(
    tx: Tx,
    program: Program,
    rule: EngagementRule,
    member_id: str,
    since: dt.datetime | None,
    when: dt.datetime,
    entry_id: str,
    stamp: str,
    ref: str | None = None,
) -> tuple[str, dict[str, Any]] | None:
    """Claim a slot of the rule's cap for a payment at ``when`` (shop time decides the
    period), or say why the rule pays nothing (loyalty.engagement.refusal)."""
    key = engagement.period_key(rule.period, when.astimezone(program.timezone).date())
    row = tx.one(
        "SELECT COUNT(*) FROM engagement_claims WHERE member_id = ? AND action = ? "
        "AND period_key = ?",
        (member_id, rule.action, key),
    )
    used = int(row[0]) if row else 0
    why = engagement.refusal(rule, since, when, used)
    if why is not None:
        return why
    for slot in range(used + 1, rule.cap + 1):  # a slot taken meanwhile: the next one
        if tx.run(
            "INSERT INTO engagement_claims (member_id, action, period_key, slot, entry_id, "
            "claimed_at, ref) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (member_id, rule.action, key, slot, entry_id, stamp, ref),
        ):
            return None
    return engagement.refusal(rule, since, when, rule.cap)


def compensate(
    tx: Tx,
    program: Program | None,
    stored: Sequence[p.WireEntry],
    stamp: str,
    new: dict[str, list[StoredEntry]],
) -> list[OwnEntry]:
    """Head office's entries that make the engagement entries among a till's ``stored`` exact
    (a till records an ``at_till`` action offline, in good faith): each claims its slot of the
    rule's cap; one that finds none, or an account too young, or an action the program does
    not let a till record, is taken back whole, and points above the rule's the rest. Queued
    in ``new`` like once.compensate's; the caller numbers them last."""
    if program is None:
        return []
    out: list[OwnEntry] = []
    since: dict[str, dt.datetime | None] = {}
    for e in stored:
        action = engagement.action_of(e.reason)
        if action is None or e.kind != "bonus" or e.points <= 0:
            continue
        rule = program.engagement_rule(action)
        if rule is None or not rule.at_till:
            out.append(_take_back(e, e.points, f"{NOT_AT_TILL}:{action}"))
            continue
        if e.member_id not in since:
            row = tx.one("SELECT enrolled_at FROM members WHERE member_id = ?", (e.member_id,))
            since[e.member_id] = account_since(tx, e.member_id, row[0] if row else None)
        when = from_text(min(e.occurred_at, stamp))
        why = claim(tx, program, rule, e.member_id, since[e.member_id], when, e.entry_id, stamp)
        if why is not None:
            reason = CAPPED if why[0] == "engagement_capped" else TOO_YOUNG
            out.append(_take_back(e, e.points, f"{reason}:{action}"))
        elif e.points > rule.points:
            out.append(_take_back(e, e.points - rule.points, f"{ABOVE_RULE}:{action}"))
    planned = own_entries.plan(tx, out, stamp)
    for x, entry in planned:
        new[x.member_id].append(entry)
    return [x for x, _ in planned]


def _take_back(e: p.WireEntry, points: int, reason: str) -> OwnEntry:
    return OwnEntry(f"engage:{e.entry_id}", e.member_id, "reverse", -points, reason,
                    reverses=e.entry_id)  # fmt: skip


MAX_LIST = 1000


def listed(
    ho: HeadOffice, member_id: str | None = None, action: str | None = None, limit: int = 100
) -> cp.EventsAnswer:
    """The engagement payments head office holds, newest first (a member's, an action's)."""
    where, params = [], []
    if member_id:
        where.append("c.member_id = ?")
        params.append(member_id)
    if action:
        where.append("c.action = ?")
        params.append(action)
    sql = (
        "SELECT c.entry_id, c.member_id, c.action, c.period_key, e.points, e.terminal_id, "
        "e.occurred_at, c.claimed_at, c.ref FROM engagement_claims c JOIN entries e "
        "ON e.entry_id = c.entry_id"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY c.claimed_at DESC, c.entry_id LIMIT ?"
    )
    with ho.store.transaction() as tx:
        rows = tx.all(sql, [*params, max(1, min(limit, MAX_LIST))])
    return cp.EventsAnswer(
        [cp.EventRecord(r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6], r[7], r[8]) for r in rows]
    )
