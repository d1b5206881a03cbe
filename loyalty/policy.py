"""The offline policy: may this till let this member redeem these points now?

Like a card terminal's offline floor limit. A redemption is allowed offline up to
min(available balance, the member's offline allowance, the till's remaining offline budget),
and only while the member's snapshot from head office is younger than the configured age.
Beyond that: an online authorisation (a hold head office granted), else a manager override
with a reason (when the program allows it), else a refusal that says what the cashier can do.
What was used offline counts until head office acknowledges it (the counters are the till's
unacknowledged offline redemptions, so they reset exactly when a sync succeeds).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from loyalty.program import OfflinePolicy

ONLINE_AUTHORISATION = "online_authorisation"
MANAGER_OVERRIDE = "manager_override"


@dataclass(frozen=True, slots=True)
class Override:
    manager_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Authorisation:
    """A hold head office granted for this member and these points (online redemption)."""

    hold_id: str
    member_id: str
    points: int


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    mode: Literal["online", "offline", "override", "refused"]
    refusal: str | None = None
    next_steps: tuple[str, ...] = ()
    limit: int = 0  # what could have been redeemed offline


def is_fresh(policy: OfflinePolicy, snapshot_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Is the member's snapshot young enough to redeem on it offline (``now`` on head office's
    clock)?"""
    return snapshot_at is not None and now - snapshot_at <= policy.max_snapshot_age


def offline_limit(
    policy: OfflinePolicy,
    available: int,
    member_offline_used: int,
    terminal_offline_used: int,
    snapshot_at: dt.datetime | None,
    now: dt.datetime,
) -> int:
    """The most points this member may redeem at this till now without head office:
    min(available, the member's allowance left, the till's budget left), 0 when the snapshot is
    too old. The member panel shows it; ``decide`` refuses above it."""
    if not is_fresh(policy, snapshot_at, now):
        return 0
    return max(
        0,
        min(
            available,
            policy.member_allowance_points - member_offline_used,
            policy.terminal_budget_points - terminal_offline_used,
        ),
    )


def decide(
    policy: OfflinePolicy,
    points: int,
    available: int,
    member_offline_used: int,
    terminal_offline_used: int,
    snapshot_at: dt.datetime | None,
    now: dt.datetime,
    authorisation: Authorisation | None = None,
    override: Override | None = None,
) -> Decision:
    if points <= 0:
        return Decision(True, "offline")
    if points > available:
        return Decision(False, "refused", "insufficient_points", limit=max(available, 0))
    if authorisation is not None and authorisation.points >= points:
        return Decision(True, "online")
    limit = offline_limit(
        policy, available, member_offline_used, terminal_offline_used, snapshot_at, now
    )
    if not is_fresh(policy, snapshot_at, now):
        refusal = "snapshot_too_old"
    elif points > policy.member_allowance_points - member_offline_used:
        refusal = "member_offline_allowance_reached"
    elif points > policy.terminal_budget_points - terminal_offline_used:
        refusal = "terminal_offline_budget_reached"
    else:
        return Decision(True, "offline", limit=limit)
    override_ok = policy.manager_override and points <= policy.override_max_points
    if override is not None and override_ok and override.reason.strip():
        return Decision(True, "override", limit=limit)
    steps = (ONLINE_AUTHORISATION, MANAGER_OVERRIDE) if override_ok else (ONLINE_AUTHORISATION,)
    return Decision(False, "refused", refusal, steps, limit)
