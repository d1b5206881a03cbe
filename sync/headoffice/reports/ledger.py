"""The figures of each bucket (day, week, month) read from the entries: points issued,
redeemed, expired, reversed and adjusted, purchases, buying members, member spend and average
order value, offline purchases, overdrafts, enrolments by source; and, over the whole period,
the rewards redeemed by type with donations per charity. Definitions: docs/kpis.md."""

from __future__ import annotations

from typing import Any

from loyalty.program import Program
from sync.headoffice.reports.period import Period
from sync.headoffice.reports.rates import Rate, per
from sync.headoffice.reports.sql import (
    COUNTED,
    IS_PURCHASE,
    RECEIPT,
    SPEND,
    WHEN,
    Bucketing,
    bucketing,
    n,
    shop_filter,
)
from sync.headoffice.store import Tx

# A purchase that spent points; ``offline`` on it means a stand-in approval (the till's own
# offline floor), not authorised by head office first (loyalty.sales: earning alone is always
# recorded ``offline``, so only redemptions say anything about being offline).
_REDEEMING = f"({IS_PURCHASE} AND e.kind IN ('redeem', 'donate'))"
_PER_BUCKET = (
    "SUM(CASE WHEN e.kind IN ('earn', 'bonus') THEN e.points ELSE 0 END), "
    "SUM(CASE WHEN e.kind IN ('redeem', 'donate') THEN -e.points ELSE 0 END), "
    "SUM(CASE WHEN e.kind = 'expire' THEN -e.points ELSE 0 END), "
    "SUM(CASE WHEN e.kind = 'reverse' THEN -e.points ELSE 0 END), "
    "SUM(CASE WHEN e.kind = 'adjust' THEN e.points ELSE 0 END), "
    f"SUM({SPEND}), "
    f"COUNT(DISTINCT CASE WHEN {IS_PURCHASE} THEN {RECEIPT} END), "
    f"COUNT(DISTINCT CASE WHEN {IS_PURCHASE} THEN e.member_id END), "
    f"COUNT(DISTINCT CASE WHEN {_REDEEMING} THEN {RECEIPT} END), "
    f"COUNT(DISTINCT CASE WHEN {_REDEEMING} AND e.offline = 1 THEN {RECEIPT} END) "
    "FROM entries e"
)
_FIELDS = (
    "points_issued", "points_redeemed", "points_expired", "points_reversed", "points_adjusted",
    "member_spend_minor", "purchases", "buying_members", "redeeming_purchases",
    "offline_redemptions",
)  # fmt: skip


def _bucketing(period: Period, expr: str) -> Bucketing:
    bounds = [(b.key, b.lo, b.hi) for b in period.buckets()]
    return bucketing(period.dialect, expr, period.by, str(period.tz), bounds)


def per_bucket(tx: Tx, period: Period) -> list[dict[str, Any]]:
    buckets = period.buckets()
    shop_sql, shop_params = shop_filter(period.shop)
    b = _bucketing(period, WHEN)
    rows = {
        r[0]: r[1:]
        for r in tx.all(
            f"{b.cte}SELECT {b.key}, {_PER_BUCKET}{b.join} WHERE {WHEN} >= ? AND {WHEN} < ? "
            f"AND {COUNTED}{shop_sql} GROUP BY 1",
            [*b.cte_params, *b.key_params, period.lo, period.hi, *shop_params],
        )
    }
    overdrafts: dict[str, Any] = dict(
        tx.all(
            f"{b.cte}SELECT {b.key}, COUNT(*) FROM overdrafts o JOIN entries e ON e.entry_id = "
            f"o.entry_id{b.join} WHERE {WHEN} >= ? AND {WHEN} < ?{shop_sql} GROUP BY 1",
            [*b.cte_params, *b.key_params, period.lo, period.hi, *shop_params],
        )
    )
    enrol_shop, enrol_params = shop_filter(period.shop, "m.enrolled_by")
    m = _bucketing(period, "m.enrolled_at")
    enrolments: dict[str, dict[str, int]] = {}
    for key, source, count in tx.all(
        f"{m.cte}SELECT {m.key}, m.enrolled_by, COUNT(*) FROM members m{m.join} WHERE "
        f"m.enrolled_at >= ? AND m.enrolled_at < ? AND m.enrolled_by IS NOT NULL{enrol_shop} "
        "GROUP BY 1, 2",
        [*m.cte_params, *m.key_params, period.lo, period.hi, *enrol_params],
    ):
        enrolments.setdefault(key, {})[source] = n(count)
    out = []
    for bucket in buckets:
        values = dict(zip(_FIELDS, (n(v) for v in rows.get(bucket.key, (0,) * len(_FIELDS))),
                          strict=True))  # fmt: skip
        by_source = enrolments.get(bucket.key, {})
        out.append(
            {
                "bucket": bucket.key,
                "from": bucket.start.isoformat(),
                "to": bucket.end.isoformat(),
                "enrolments": sum(by_source.values()),
                "enrolments_by_source": dict(sorted(by_source.items())),
                **values,
                "member_aov_minor": per(values["member_spend_minor"], values["purchases"]),
                "redemption_rate": Rate(
                    values["points_redeemed"], values["points_issued"]
                ).as_dict(),  # fmt: skip
                "offline_share": Rate(
                    values["offline_redemptions"], values["redeeming_purchases"]
                ).as_dict(),
                "overdrafts": n(overdrafts.get(bucket.key)),
            }
        )
    return out


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
