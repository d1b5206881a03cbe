"""Engagement over a period, by action: the engagement events members were paid for (entries
``bonus`` with reason ``engage:<action>``, posted by a channel or recorded at a till) and
those head office took back (its ``reverse`` entries ``engagement_<why>:<action>``: over the
cap, an account too young, an action a till may not record, points above the rule's).
Definitions: docs/kpis.md."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sync.headoffice.own_entries import HEADOFFICE
from sync.headoffice.reports.period import Period
from sync.headoffice.reports.sql import COUNTED, WHEN, n, shop_filter
from sync.headoffice.store import Tx

PREFIX = "engage:"
TAKEN_BACK = "engagement_%"  # head office's reasons, ``engagement_capped:<action>``...
EVENT = "engagement"  # the summaries' figures (kpi_counts), by action
TAKEN = "engagement_taken_back"


def action_taken_back(reason: str) -> str:
    """The action a take-back's reason names (``engagement_capped:review_written``)."""
    return reason.split(":", 1)[1] if ":" in reason else ""


def by_action(
    events: Iterable[tuple[Any, ...]], taken: Iterable[tuple[Any, ...]]
) -> dict[str, Any]:
    """{action: events, points, taken_back, points_taken_back} from rows of (action, count,
    points) of each kind, whichever source they were read from."""
    out: dict[str, dict[str, int]] = {}

    def row(action: str) -> dict[str, int]:
        return out.setdefault(
            action, {"events": 0, "points": 0, "taken_back": 0, "points_taken_back": 0}
        )

    for action, count, points in events:
        r = row(str(action))
        r["events"] += n(count)
        r["points"] += n(points)
    for action, count, points in taken:
        r = row(str(action))
        r["taken_back"] += n(count)
        r["points_taken_back"] += n(points)
    return dict(sorted(out.items()))


def engagement(tx: Tx, period: Period) -> dict[str, Any]:
    """Engagement by action, read from the ledger."""
    shop_sql, shop_params = shop_filter(period.shop)
    events = tx.all(
        f"SELECT SUBSTR(e.reason, {len(PREFIX) + 1}), COUNT(*), SUM(e.points) FROM entries e "
        f"WHERE e.kind = 'bonus' AND SUBSTR(e.reason, 1, {len(PREFIX)}) = '{PREFIX}' AND "
        f"{WHEN} >= ? AND {WHEN} < ? AND {COUNTED}{shop_sql} GROUP BY 1",
        [period.lo, period.hi, *shop_params],
    )
    taken = tx.all(
        f"SELECT e.reason, COUNT(*), SUM(-e.points) FROM entries e WHERE e.terminal_id = "
        f"'{HEADOFFICE}' AND e.kind = 'reverse' AND e.reason LIKE '{TAKEN_BACK}' AND "
        f"{WHEN} >= ? AND {WHEN} < ? AND {COUNTED}{shop_sql} GROUP BY 1",
        [period.lo, period.hi, *shop_params],
    )
    return by_action(events, [(action_taken_back(str(r)), c, p) for r, c, p in taken])
