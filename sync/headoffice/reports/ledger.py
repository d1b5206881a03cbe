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
    buckets_cte,
    n,
    shop_filter,
)
from sync.headoffice.store import Tx

# A purchase that spent points; ``offline`` on it means a stand-in approval (the till's own
# offline floor), not authorised by head office first (loyalty.sales: earning alone is always
# recorded ``offline``, so only redemptions say anything about being offline).
_REDEEMING = f"({IS_PURCHASE} AND e.kind IN ('redeem', 'donate'))"
_PER_BUCKET = (
    "SELECT b.k, "
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
    f"FROM entries e JOIN b ON {WHEN} >= b.lo AND {WHEN} < b.hi WHERE {COUNTED}"
)
_FIELDS = (
    "points_issued", "points_redeemed", "points_expired", "points_reversed", "points_adjusted",
    "member_spend_minor", "purchases", "buying_members", "redeeming_purchases",
    "offline_redemptions",
)  # fmt: skip


def per_bucket(tx: Tx, period: Period) -> list[dict[str, Any]]:
    buckets = period.buckets()
    cte, params = buckets_cte([(b.key, b.lo, b.hi) for b in buckets])
    shop_sql, shop_params = shop_filter(period.shop)
    rows = {r[0]: r[1:] for r in tx.all(cte + _PER_BUCKET + shop_sql + " GROUP BY b.k",
                                        params + shop_params)}  # fmt: skip
    overdrafts: dict[str, Any] = dict(
        tx.all(
            cte + "SELECT b.k, COUNT(*) FROM overdrafts o JOIN entries e ON e.entry_id = "
            f"o.entry_id JOIN b ON {WHEN} >= b.lo AND {WHEN} < b.hi WHERE 1 = 1"
            + shop_sql
            + " GROUP BY b.k",
            params + shop_params,
        )
    )
    enrol_shop, enrol_params = shop_filter(period.shop, "m.enrolled_by")
    enrolments: dict[str, dict[str, int]] = {}
    for key, source, count in tx.all(
        cte + "SELECT b.k, m.enrolled_by, COUNT(*) FROM members m JOIN b ON "
        "m.enrolled_at >= b.lo AND m.enrolled_at < b.hi WHERE m.enrolled_by IS NOT NULL"
        + enrol_shop
        + " GROUP BY b.k, m.enrolled_by",
        params + enrol_params,
    ):
        enrolments.setdefault(key, {})[source] = n(count)
    out = []
    for b in buckets:
        values = dict(zip(_FIELDS, (n(v) for v in rows.get(b.key, (0,) * len(_FIELDS))),
                          strict=True))  # fmt: skip
        by_source = enrolments.get(b.key, {})
        out.append(
            {
                "bucket": b.key,
                "from": b.start.isoformat(),
                "to": b.end.isoformat(),
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
                "overdrafts": n(overdrafts.get(b.key)),
            }
        )
    return out


def rewards(tx: Tx, period: Period, program: Program | None) -> dict[str, Any]:
    """Rewards redeemed over the period, by reward (points payments as ``points_payment``),
    less those a refund gave back; donations summed per charity in money."""
    shop_sql, shop_params = shop_filter(period.shop)
    rows = tx.all(
        "SELECT COALESCE(e.reward_id, e.reason), e.kind, "
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
