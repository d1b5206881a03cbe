"""The figures of each bucket (day, week, month) read from the entries: points issued,
redeemed, expired, reversed and adjusted, purchases, buying members, member spend and average
order value, offline purchases, overdrafts, enrolments by source; and, over the whole period,
the rewards redeemed by type with donations per charity. Definitions: docs/kpis.md."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from loyalty.program import Program
from sync.headoffice.reports.period import Period
from sync.headoffice.reports.rates import Rate, per
from sync.headoffice.reports.sql import (
    COUNTED,
    IS_PURCHASE,
    SPEND,
    WHEN,
    day_sql,
    n,
    shop_filter,
)
from sync.headoffice.store import Tx

# A purchase that spent points; ``offline`` on it means a stand-in approval (the till's own
# offline floor), not authorised by head office first (loyalty.sales: earning alone is always
# recorded ``offline``, so only redemptions say anything about being offline).
_REDEEMS = "(CASE WHEN e.kind IN ('redeem', 'donate') THEN 1 ELSE 0 END)"
_OFFLINE = "(CASE WHEN e.kind IN ('redeem', 'donate') AND e.offline = 1 THEN 1 ELSE 0 END)"
_SUMS = (
    "SUM(CASE WHEN e.kind IN ('earn', 'bonus') THEN e.points ELSE 0 END), "
    "SUM(CASE WHEN e.kind IN ('redeem', 'donate') THEN -e.points ELSE 0 END), "
    "SUM(CASE WHEN e.kind = 'expire' THEN -e.points ELSE 0 END), "
    "SUM(CASE WHEN e.kind = 'reverse' THEN -e.points ELSE 0 END), "
    "SUM(CASE WHEN e.kind = 'adjust' THEN e.points ELSE 0 END), "
    f"SUM({SPEND})"
)
# The figures of a shop day, in this order: what the ledger's and the summaries' readers give.
DAY_FIGURES = (
    "points_issued", "points_redeemed", "points_expired", "points_reversed", "points_adjusted",
    "member_spend_minor", "purchases", "redeeming_purchases", "offline_redemptions",
    "overdrafts",
)  # fmt: skip


def days(tx: Tx, period: Period) -> dict[str, list[int]]:
    """Each shop day's figures (``DAY_FIGURES``) read from the ledger."""
    shop_sql, shop_params = shop_filter(period.shop)
    day, day_params = day_sql(period.dialect, WHEN, str(period.tz))
    out: dict[str, list[int]] = {}

    def row(d: str) -> list[int]:
        return out.setdefault(str(d), [0] * len(DAY_FIGURES))

    for d, *sums in tx.all(
        f"SELECT {day}, {_SUMS} FROM entries e WHERE {WHEN} >= ? AND {WHEN} < ? AND {COUNTED}"
        f"{shop_sql} GROUP BY 1",
        [*day_params, period.lo, period.hi, *shop_params],
    ):
        row(d)[:6] = [n(x) for x in sums]
    # A purchase: a receipt's entries of one member on one shop day.
    for d, purchases, redeeming, offline in tx.all(
        "SELECT p.d, COUNT(*), SUM(p.r), SUM(p.o) FROM (SELECT "
        f"{day} AS d, e.terminal_id, e.receipt_no, e.member_id, MAX({_REDEEMS}) AS r, "
        f"MAX({_OFFLINE}) AS o FROM entries e WHERE {IS_PURCHASE} AND {WHEN} >= ? AND "
        f"{WHEN} < ?{shop_sql} GROUP BY 1, 2, 3, 4) p GROUP BY 1",
        [*day_params, period.lo, period.hi, *shop_params],
    ):
        row(d)[6:9] = [n(purchases), n(redeeming), n(offline)]
    for d, count in tx.all(
        f"SELECT {day}, COUNT(*) FROM overdrafts o JOIN entries e ON e.entry_id = o.entry_id "
        f"WHERE {WHEN} >= ? AND {WHEN} < ?{shop_sql} GROUP BY 1",
        [*day_params, period.lo, period.hi, *shop_params],
    ):
        row(d)[9] = n(count)
    return out


def buying_per_bucket(tx: Tx, period: Period) -> dict[str, int]:
    """Members with a purchase in each bucket, read from the ledger."""
    shop_sql, shop_params = shop_filter(period.shop)
    day, day_params = day_sql(period.dialect, WHEN, str(period.tz))
    bucket = bucket_of_day(period)
    members: dict[str, set[str]] = {}
    for d, member_id in tx.all(
        f"SELECT DISTINCT {day}, e.member_id FROM entries e WHERE {IS_PURCHASE} AND "
        f"{WHEN} >= ? AND {WHEN} < ?{shop_sql}",
        [*day_params, period.lo, period.hi, *shop_params],
    ):
        members.setdefault(bucket[str(d)], set()).add(str(member_id))
    return {k: len(v) for k, v in members.items()}


def bucket_of_day(period: Period) -> dict[str, str]:
    """Each shop day of the period (``YYYY-MM-DD``) and its bucket's key."""
    out: dict[str, str] = {}
    for b in period.buckets():
        day = b.start
        while day <= b.end:
            out[day.isoformat()] = b.key
            day += dt.timedelta(days=1)
    return out


def enrolments(tx: Tx, period: Period) -> dict[str, dict[str, int]]:
    """Members enrolled in each bucket, by where they enrolled (the members' table)."""
    enrol_shop, enrol_params = shop_filter(period.shop, "m.enrolled_by")
    day, day_params = day_sql(period.dialect, "m.enrolled_at", str(period.tz))
    bucket = bucket_of_day(period)
    out: dict[str, dict[str, int]] = {}
    for d, source, count in tx.all(
        f"SELECT {day}, m.enrolled_by, COUNT(*) FROM members m WHERE m.enrolled_at >= ? AND "
        f"m.enrolled_at < ? AND m.enrolled_by IS NOT NULL{enrol_shop} GROUP BY 1, 2",
        [*day_params, period.lo, period.hi, *enrol_params],
    ):
        by_source = out.setdefault(bucket[str(d)], {})
        by_source[str(source)] = by_source.get(str(source), 0) + n(count)
    return out


def assemble(
    period: Period,
    day_figures: dict[str, list[int]],
    buying: dict[str, int],
    enrolled: dict[str, dict[str, int]],
) -> list[dict[str, Any]]:
    """The buckets' figures from the days' figures, the members buying in each bucket and
    the enrolments (whichever source they were read from)."""
    bucket = bucket_of_day(period)
    sums: dict[str, list[int]] = {}
    for d, figures in day_figures.items():
        key = bucket.get(d)
        if key is not None:
            total = sums.setdefault(key, [0] * len(DAY_FIGURES))
            total[:] = [a + b for a, b in zip(total, figures, strict=True)]
    out = []
    for b in period.buckets():
        values = dict(zip(DAY_FIGURES, sums.get(b.key, [0] * len(DAY_FIGURES)), strict=True))
        by_source = enrolled.get(b.key, {})
        out.append(
            {
                "bucket": b.key,
                "from": b.start.isoformat(),
                "to": b.end.isoformat(),
                "enrolments": sum(by_source.values()),
                "enrolments_by_source": dict(sorted(by_source.items())),
                **values,
                "buying_members": buying.get(b.key, 0),
                "member_aov_minor": per(values["member_spend_minor"], values["purchases"]),
                "redemption_rate": Rate(
                    values["points_redeemed"], values["points_issued"]
                ).as_dict(),  # fmt: skip
                "offline_share": Rate(
                    values["offline_redemptions"], values["redeeming_purchases"]
                ).as_dict(),
            }
        )
    return out


def per_bucket(tx: Tx, period: Period) -> list[dict[str, Any]]:
    """The buckets' figures read from the ledger itself."""
    return assemble(period, days(tx, period), buying_per_bucket(tx, period),
                    enrolments(tx, period))  # fmt: skip


def rewards(tx: Tx, period: Period, program: Program | None) -> dict[str, Any]:
    """Rewards redeemed over the period, by reward (points payments as ``points_payment``),
    less those a refund gave back; donations summed per charity in money."""
    shop_sql, shop_params = shop_filter(period.shop)
    rows = tx.all(
        # A points payment has no reward id: its reason names it, and a refund's return of
        # it (reason refund:return_redeemed) is counted under it too.
        "SELECT COALESCE(e.reward_id, CASE WHEN e.kind = 'reverse' THEN 'points_payment' "
        "ELSE e.reason END), e.kind, "
        "SUM(CASE WHEN e.kind = 'reverse' THEN 0 ELSE 1 END), "
        "SUM(CASE WHEN e.kind = 'reverse' THEN 1 ELSE 0 END), "
        "SUM(-e.points), SUM(e.amount_minor) FROM entries e "
        f"WHERE {WHEN} >= ? AND {WHEN} < ? AND {COUNTED} AND ("
        "e.kind IN ('redeem', 'donate') OR (e.kind = 'reverse' AND "
        "e.reason = 'refund:return_redeemed'))" + shop_sql + " GROUP BY 1, 2 ORDER BY 1, 2",
        [period.lo, period.hi, *shop_params],
    )
    return rewards_of(rows, program)


def rewards_of(rows: Iterable[tuple[Any, ...]], program: Program | None) -> dict[str, Any]:
    """``by_reward`` and ``donations_by_charity_minor`` from rows of (reward, kind, redeemed,
    returned, points, money), whichever source they were read from."""
    known = {r.id: r for r in program.rewards} if program else {}
    by_reward: dict[str, dict[str, Any]] = {}
    charities: dict[str, int] = {}
    for reward_id, kind, redeemed, returned, points, amount in rows:
        reward = known.get(reward_id)
        row = by_reward.setdefault(
            reward_id,
            {"effect": reward.effect if reward else ("points_payment" if reward_id ==
                                                      "points_payment" else "unknown"),
             "redeemed": 0, "returned": 0, "points": 0, "value_minor": 0},
        )  # fmt: skip
        row["redeemed"] += n(redeemed)
        row["returned"] += n(returned)
        row["points"] += n(points)
        if kind != "reverse":
            row["value_minor"] += n(amount)
        if kind == "donate":
            charity = reward.charity if reward and reward.charity else reward_id
            charities[charity] = charities.get(charity, 0) + n(amount)
    return {"by_reward": by_reward, "donations_by_charity_minor": dict(sorted(charities.items()))}
