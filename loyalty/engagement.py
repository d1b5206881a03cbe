"""The program's engagement rules: points for what a member does beyond buying (a review
written, a social follow, a profile completed, an email or app sign-up; the list is open: the
program names its own actions), each with a cap per member per period and a minimum account
age. Pure: the program section's reading (``parse``) and the rule's decision (``refusal``);
head office counts what a member was already paid (sync/headoffice/engagement.py).

    [[engagement]]
    action = "review_written"            # a-z, 0-9 and _ : what channels and tills post
    name = { en = "Review written", el = "..." }
    points = 50
    cap = 3                              # at most 3 times ...
    period = "month"                     # ... per calendar month (shop time): day, week,
                                         # month, year or ever
    min_account_age_days = 7             # a member enrolled less than 7 days ago: refused
    at_till = false                      # whether a cashier may record it at the till

A rule without ``cap`` is refused when the program is loaded (``engagement_without_cap``):
points for an action nobody bounds are points anyone can farm, and neither a till nor head
office should guess a bound.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from loyalty.program import _Reader

Period = Literal["day", "week", "month", "year", "ever"]
PERIODS: tuple[str, ...] = ("day", "week", "month", "year", "ever")
REASON_PREFIX = "engage:"
_ACTION = re.compile(r"[a-z0-9_]{1,32}\Z")
MAX_CAP = 1000


@dataclass(frozen=True, slots=True)
class EngagementRule:
    action: str
    name: Mapping[str, str]
    points: int
    cap: int  # times per member per period
    period: Period
    min_account_age_days: int
    at_till: bool = False

    @property
    def reason(self) -> str:
        """The ledger reason of the rule's entries: ``engage:<action>``."""
        return f"{REASON_PREFIX}{self.action}"


def action_of(reason: str) -> str | None:
    """The action of an engagement entry's reason, or None for any other entry."""
    return reason[len(REASON_PREFIX) :] if reason.startswith(REASON_PREFIX) else None


def parse(root: _Reader, max_points: int) -> tuple[EngagementRule, ...]:
    """The ``[[engagement]]`` rules; a ProgramError names the rule's field and the problem.
    A rule paying more than the program's largest entry (``max_points``) could never be paid
    and is refused."""
    rules = tuple(_rule(r, max_points) for r in root.items("engagement"))
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.action in seen:
            raise root.fail(f"engagement[{i}].action", "duplicate_id", value=rule.action)
        seen.add(rule.action)
    return rules


def _rule(r: _Reader, max_points: int) -> EngagementRule:
    action = r.text("action")
    if not _ACTION.match(action):
        raise r.fail("action", "not_an_action", value=action[:40])
    if "cap" not in r.data:
        raise r.fail("cap", "engagement_without_cap", action=action)
    return EngagementRule(
        action=action,
        name=r.localised("name"),
        points=r.integer("points", minimum=1, maximum=max_points),
        cap=r.integer("cap", minimum=1, maximum=MAX_CAP),
        period=r.text("period", choices=PERIODS),  # type: ignore[arg-type]
        min_account_age_days=r.integer("min_account_age_days", 0, maximum=3660),
        at_till=r.flag("at_till", False),
    )


def period_key(period: str, day: dt.date) -> str:
    """The period a shop day falls in, as a key: ``2026-12-01``, ``2026-W49`` (ISO week),
    ``2026-12``, ``2026`` or ``ever``."""
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    if period == "year":
        return str(day.year)
    return "ever"


def account_age_days(since: dt.datetime | None, now: dt.datetime) -> int:
    """Whole days since the account opened (0 when head office does not know when)."""
    return max(0, (now - since).days) if since is not None else 0


def refusal(
    rule: EngagementRule, since: dt.datetime | None, now: dt.datetime, used: int
) -> tuple[str, dict[str, Any]] | None:
    """Why the rule pays a member nothing now (a code and its parameters), or None: the
    account younger than the rule's minimum (``account_too_young``), or the member paid
    ``cap`` times in the period already (``engagement_capped``)."""
    age = account_age_days(since, now)
    if age < rule.min_account_age_days:
        return "account_too_young", {
            "action": rule.action, "minimum": rule.min_account_age_days, "n": age,
        }  # fmt: skip
    if used >= rule.cap:
        return "engagement_capped", {
            "action": rule.action, "limit": rule.cap, "period": rule.period,
        }  # fmt: skip
    return None
