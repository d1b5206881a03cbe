"""Head office's KPIs, each defined once here and in docs/kpis.md: read from head office's
ledger (the ``entries`` table) and its member accounts, in SQL that runs on SQLite and
PostgreSQL. Points and money are exact integers; rates are exact fractions with basis points
(none when the denominator is zero).

``report(store, program, now, ...)`` checks the request (period.py: bad input is a
``ReportError`` with a code, never a figure) and returns one JSON-ready document:

- ``buckets``: per day, week or month (ledger.py);
- read from the summaries head office keeps as entries arrive (summaries.py,
  from_summaries.py), or from the ledger itself: the same figures;
- ``period``: buying members, repeat-purchase rate, purchase frequency, active members
  (members.py), the bucket figures summed, rewards by type and donations per charity;
- ``tiers``, ``outstanding`` (as of now, chain-wide), ``cohorts`` (cohorts.py), ``tills``
  (sync health, health.py).

``csv_text`` flattens the buckets into one CSV table (one row per bucket)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import replace
from typing import Any

from loyalty.db import to_text
from loyalty.program import Program
from sync.headoffice.reports import (
    cohorts,
    engagement,
    from_summaries,
    health,
    ledger,
    members,
    referrals,
)
from sync.headoffice.reports.period import GROUPINGS, MAX_DAYS, Period, ReportError, period
from sync.headoffice.reports.rates import Rate, per

__all__ = ["GROUPINGS", "MAX_DAYS", "ReportError", "csv_text", "for_headoffice", "report"]

_SUMMED = (
    "enrolments", "points_issued", "points_redeemed", "points_expired", "points_reversed",
    "points_adjusted", "member_spend_minor", "redeeming_purchases", "offline_redemptions",
    "overdrafts",
)  # fmt: skip


def report(
    store: Any,
    program: Program | None,
    now: dt.datetime,
    start: str | None = None,
    end: str | None = None,
    by: str = "day",
    shop: str | None = None,
    summaries: bool = True,
) -> dict[str, Any]:
    """The whole report for a period; raises ReportError for bad input. Read from the
    summaries kept at push time when they count the program's shop days (``summaries``
    False: from the ledger itself, as the tests compare)."""
    if program is None:
        raise ReportError("no_program")
    asked = replace(period(program.timezone, now, start, end, by, shop), dialect=store.dialect)
    with store.transaction() as tx:
        if shop is not None and tx.one("SELECT 1 FROM tills WHERE terminal_id = ?",
                                       (shop,)) is None:  # fmt: skip
            raise ReportError("unknown_shop", shop=shop[:80])
        if summaries and from_summaries.usable(tx, asked):
            buckets, buying, cohort_rows = from_summaries.figures(tx, asked)
            rewards = from_summaries.rewards(tx, asked, program)
            engaged = from_summaries.engagement_by_action(tx, asked)
            tiers = {
                "distribution_now": members.distribution(tx),
                "reviews_in_period": members.moves(from_summaries.tier_reviews(tx, asked)),
            }
            pushes: dict[str, tuple[str, str]] | None = from_summaries.last_pushes(tx, shop)
        else:  # the ledger itself: the definitions the summaries are held to
            buckets, buying = ledger.per_bucket(tx, asked), members.buying(tx, asked)
            cohort_rows, rewards = cohorts.cohorts(tx, asked), ledger.rewards(tx, asked, program)
            engaged = engagement.engagement(tx, asked)
            tiers, pushes = members.tiers(tx, asked), None
        whole = _whole(buckets, buying)
        whole.update(rewards)
        whole["engagement_by_action"] = engaged
        whole["referrals"] = referrals.referrals(tx, asked)
        tiers["moves_in_period"] = _moves(tiers["reviews_in_period"],
                                          from_summaries.tier_moves(tx, asked))  # fmt: skip
        return {
            "query": _query(asked, now),
            "currency": program.currency,
            "period": whole,
            "buckets": buckets,
            "tiers": tiers,
            "outstanding": members.outstanding(tx, program, now),
            "cohorts": cohort_rows,
            "tills": health.tills(tx, now, shop, pushes),
        }


def for_headoffice(ho: Any, start: str | None = None, end: str | None = None, by: str = "day",
                   shop: str | None = None) -> dict[str, Any]:  # fmt: skip
    """``report`` of a HeadOffice, with its current program, on its clock."""
    with ho.store.transaction() as tx:
        program = ho.program(tx)
    return report(ho.store, program, ho.clock(), start, end, by, shop)


def _query(asked: Period, now: dt.datetime) -> dict[str, Any]:
    return {
        "from": asked.start.isoformat(),
        "to": asked.end.isoformat(),
        "by": asked.by,
        "shop": asked.shop,
        "timezone": str(asked.tz),
        "as_of": to_text(now),
    }


def _moves(reviews: dict[str, int], folded: list[tuple[Any, ...]]) -> dict[str, int]:
    """Every tier change in the period: head office's reviews (entries) and those made as it
    folded entries into accounts (a purchase's upgrade: summaries.tier_moves, ``old>new``)."""
    out = dict(reviews)
    for k, v in folded:
        out[str(k)] = out.get(str(k), 0) + int(v)
    return dict(sorted(out.items()))


def _whole(buckets: list[dict[str, Any]], buying: dict[str, Any]) -> dict[str, Any]:
    sums = {k: sum(int(b[k]) for b in buckets) for k in _SUMMED}
    out = {**sums, **buying}
    out["member_aov_minor"] = per(sums["member_spend_minor"], buying["purchases"])
    out["redemption_rate"] = Rate(sums["points_redeemed"], sums["points_issued"]).as_dict()
    out["breakage_rate"] = Rate(sums["points_expired"], sums["points_issued"]).as_dict()
    out["offline_share"] = Rate(sums["offline_redemptions"], sums["redeeming_purchases"]).as_dict()
    return out


CSV_COLUMNS = (
    "bucket", "from", "to", "enrolments", "points_issued", "points_redeemed", "points_expired",
    "points_reversed", "points_adjusted", "purchases", "buying_members", "member_spend_minor",
    "member_aov_minor", "redemption_rate_bp", "redeeming_purchases", "offline_redemptions",
    "offline_share_bp",
    "overdrafts",
)  # fmt: skip


def csv_rows(doc: dict[str, Any]) -> list[list[str]]:
    rows = [list(CSV_COLUMNS)]
    for b in doc["buckets"]:
        flat = dict(b)
        flat["redemption_rate_bp"] = b["redemption_rate"]["basis_points"]
        flat["offline_share_bp"] = b["offline_share"]["basis_points"]
        rows.append(["" if flat[c] is None else str(flat[c]) for c in CSV_COLUMNS])
    return rows


def csv_text(doc: dict[str, Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(csv_rows(doc))
    return out.getvalue()
