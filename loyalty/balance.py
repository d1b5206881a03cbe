"""What a member has: head office's snapshot plus this till's unacknowledged entries.

available = head office's spendable balance + its pending points released by now
            + this till's unacknowledged entries that are spendable now
            - head office's next expiring points, once their time has come (less what this
              till's own redemptions already took from them: debits use the soonest-expiring
              points first, as at head office).
Local earnings wait out the program's pending (return-window) days like head office's do.

Time rules on the till's own clock, so an offline till never lets expired points be spent or
shows a lapsed tier: head office's snapshot says which points expire when; a calendar-year tier
window that has turned since the snapshot starts again from this till's own spend in the new
year; a rolling window drops each shop day's spend (the snapshot's ``tier_days``) at the shop's
midnight, as head office does (loyalty.tier_window). When head office's expire and tier entries
arrive, its new snapshot has them (balance lowered, the next expiry in the future, the tier of
the new window) and nothing is taken twice. A snapshot of an older head office, without
``tier_days``, keeps its rolling tier until the next one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from loyalty import tier_window
from loyalty.db import from_text, to_text
from loyalty.ledger import Entry
from loyalty.members import Member
from loyalty.program import Program, Tier

EARNING_KINDS = ("earn", "bonus")


@dataclass(frozen=True, slots=True)
class Balance:
    member_id: str
    available: int
    pending: int
    pending_release_at: dt.datetime | None  # when the next pending points become spendable
    server_balance: int
    unsynced_points: int  # this till's entries head office has not acknowledged yet
    includes_offline: bool  # the figures include entries head office has not seen
    # How fresh head office's word on this member is, on head office's clock: the later of the
    # member's snapshot and this till's last complete pull (which covered every member).
    as_of: dt.datetime | None
    tier_id: str  # as head office last said
    provisional_tier_id: str  # with this till's unsynced spend (shown as provisional)
    tier_progress: int  # qualifying spend or points, unsynced included
    next_tier_id: str | None
    to_next_tier: int  # spend (minor units) or points still needed
    tier_deadline: dt.date | None  # for calendar-year tiers: the last day to qualify
    expiring_points: int
    expiring_at: dt.datetime | None
    status: str


def compute(
    program: Program, member: Member, unacked: Sequence[Entry], now: dt.datetime
) -> Balance:
    released = pending = 0
    expired, expiring, expiring_at = _expiry(member, unacked, now)
    next_release: dt.datetime | None = None
    for points, release_text in member.pending:
        release = from_text(release_text)
        if release <= now:
            released += points
        else:
            pending += points
            next_release = release if next_release is None else min(next_release, release)
    local_available = local_pending = 0
    hold = dt.timedelta(days=program.pending_days)
    earn_time = {e.entry_id: from_text(e.occurred_at) for e in unacked if e.kind in EARNING_KINDS}
    qualifying = 0
    window_start = tier_window.window_start(program, now)
    for e in unacked:
        origin = earn_time.get(e.reverses or "") if e.kind == "reverse" else None
        when = earn_time.get(e.entry_id) or origin
        if when is not None and program.pending_days and when + hold > now:
            local_pending += e.points
            release = when + hold
            next_release = release if next_release is None else min(next_release, release)
        else:
            local_available += e.points
        if from_text(e.occurred_at) < window_start:
            continue  # counted in a tier window that has ended
        if e.kind == "earn" and e.reason == "base":
            qualifying += e.amount_minor if program.tier_rule.measure == "spend" else 0
        if program.tier_rule.measure == "points" and e.kind in EARNING_KINDS:
            qualifying += e.points
        qualifying += _refunded(program, e)
    current = program.tier(member.tier_id)
    progress = member.tier_progress + qualifying
    if program.tier_rule.window == "rolling" and member.tier_days:
        kept, aged = tier_window.still_counting(program, member.tier_days, now)
        if aged:
            # Days of head office's progress have left the window since its snapshot: the
            # tier is what the days still in it qualify for (this till's spend on top below).
            progress = kept + qualifying
            current = _tier_for(program, kept)
    if _window_turned(program, member, now):
        # Head office's progress and tier were of a year that has ended: what head office
        # knows of this year is nothing yet; this till's own spend this year counts on top
        # (the provisional tier below).
        progress = qualifying
        current = _tier_for(program, 0)
    progress = max(progress, 0)
    provisional = current if qualifying >= 0 else program.tiers[0]
    for tier in program.tiers:
        if tier.threshold <= progress and tier.threshold > provisional.threshold:
            provisional = tier
    nxt: Tier | None = next((t for t in program.tiers if t.threshold > progress), None)
    deadline = None
    if nxt is not None and program.tier_rule.window == "calendar_year":
        deadline = dt.date(now.astimezone(program.timezone).year, 12, 31)
    return Balance(
        member_id=member.member_id,
        available=member.balance + released + local_available - expired,
        pending=pending + local_pending,
        pending_release_at=next_release,
        server_balance=member.balance,
        unsynced_points=sum(e.points for e in unacked),
        includes_offline=bool(unacked),
        as_of=_as_of(member),
        tier_id=current.id,
        provisional_tier_id=provisional.id,
        tier_progress=progress,
        next_tier_id=nxt.id if nxt else None,
        to_next_tier=(nxt.threshold - progress) if nxt else 0,
        tier_deadline=deadline,
        expiring_points=max(0, min(expiring, member.balance + released + local_available)),
        expiring_at=expiring_at,
        status=member.status,
    )


def last_day(expiring_at: dt.datetime, zone: dt.tzinfo) -> dt.date:
    """The shop's last calendar day on which points expiring at ``expiring_at`` still count:
    points that expire at midnight (the start of 1 January 2028, shop time) count through 31
    December 2027, the day a receipt names."""
    return (expiring_at.astimezone(zone) - dt.timedelta(microseconds=1)).date()


def _refunded(program: Program, e: Entry) -> int:
    """What a refund's reversal takes back of the tier's qualifying spend or points (a negative
    number), when the program says refunds do."""
    if e.kind != "reverse" or program.refund_qualifying != "reverse":
        return 0
    if program.tier_rule.measure == "spend":
        return min(e.amount_minor, 0) if e.reason == "refund:base" else 0
    return min(e.points, 0) if e.reason.startswith("refund:") else 0


def _as_of(member: Member) -> dt.datetime | None:
    """A member the till never had from head office (``snapshot_at`` empty) stays unknown: a
    complete pull says nothing about a member it did not hold."""
    if member.snapshot_at is None:
        return None
    return from_text(max(member.snapshot_at, member.synced_at or ""))


def _expiry(
    member: Member, unacked: Sequence[Entry], now: dt.datetime
) -> tuple[int, int, dt.datetime | None]:
    """(points expired by now, points expiring next, when) of head office's next expiry, less
    what this till's debits before it took from those points."""
    if not member.expiring_points or not member.expiring_at:
        return 0, 0, None
    at = from_text(member.expiring_at)
    taken = sum(
        -e.points
        for e in unacked
        if e.points < 0 and e.kind != "reverse" and from_text(e.occurred_at) < at
    )
    left = max(0, member.expiring_points - taken)
    if at <= now:
        return left, 0, None  # the next expiry after this one is head office's to say
    return 0, left, at


def _window_turned(program: Program, member: Member, now: dt.datetime) -> bool:
    if program.tier_rule.window != "calendar_year" or member.snapshot_at is None:
        return False
    zone = program.timezone
    return from_text(member.snapshot_at).astimezone(zone).year < now.astimezone(zone).year


def _tier_for(program: Program, progress: int) -> Tier:
    tier = program.tiers[0]
    for t in program.tiers:
        if t.threshold <= progress and t.threshold > tier.threshold:
            tier = t
    return tier


_TIMES = ("pending_release_at", "as_of", "expiring_at")


def figures_json(before: Balance, after: Balance) -> str:
    """A sale's balances as its receipt printed them, for the ``sale_figures`` table."""

    def one(b: Balance) -> dict[str, Any]:
        d = asdict(b)
        for key in _TIMES:
            d[key] = to_text(d[key]) if d[key] is not None else None
        d["tier_deadline"] = b.tier_deadline.isoformat() if b.tier_deadline else None
        return d

    return json.dumps({"before": one(before), "after": one(after)}, sort_keys=True)


def read_figures(text: str) -> tuple[Balance, Balance]:
    def one(d: dict[str, Any]) -> Balance:
        for key in _TIMES:
            d[key] = from_text(d[key]) if d[key] is not None else None
        d["tier_deadline"] = (
            dt.date.fromisoformat(d["tier_deadline"]) if d["tier_deadline"] else None
        )
        return Balance(**d)

    data = json.loads(text)
    return one(data["before"]), one(data["after"])
