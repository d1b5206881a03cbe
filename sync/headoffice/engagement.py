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
from typing import Any

from loyalty import engagement
from loyalty.db import from_text
from loyalty.engagement import EngagementRule
from loyalty.program import Program
from sync import channel_protocol as cp
from sync.headoffice.channels import Context, Planned, Post, claim_fact, member_row
from sync.headoffice.rows import ApiProblem
from sync.headoffice.store import Tx


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
                ctx.entry_id(fact, rule.reason), ctx.stamp)  # fmt: skip
    if why is not None:
        code, params = why
        if code == "account_too_young":
            raise ApiProblem(409, "account_too_young", member=member_id, **params)
        raise ApiProblem(409, "engagement_capped", member=member_id, **params)
    entry = Planned(rule.reason, "bonus", rule.points, rule.reason)
    return Post(member_id, fact, req.event_id, None, ctx.when(req.occurred_at), [entry])


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
            "claimed_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (member_id, rule.action, key, slot, entry_id, stamp),
        ):
            return None
    return engagement.refusal(rule, since, when, rule.cap)
