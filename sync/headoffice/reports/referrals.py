"""Referrals over a period (sync/headoffice/referrals.py keeps them, one row per new member
enrolled with a friend's code): those head office credited (both members paid their bonus,
after the new member's first qualifying purchase) and those it refused, by reason, each on
the day head office decided it (``decided_at``), by where the new member enrolled (``--shop``:
that till's). The bonuses themselves are head office's own entries (``referral:<member>``)
and count in points issued. Definitions: docs/kpis.md."""

from __future__ import annotations

from typing import Any

from sync.headoffice.reports.period import Period
from sync.headoffice.reports.sql import n, shop_filter
from sync.headoffice.store import Tx


def referrals(tx: Tx, period: Period) -> dict[str, Any]:
    shop_sql, shop_params = shop_filter(period.shop, "r.source")
    credited, refused = 0, dict[str, int]()
    for status, reason, count in tx.all(
        "SELECT r.status, r.reason, COUNT(*) FROM referrals r WHERE r.status IN "
        "('credited', 'refused') AND r.decided_at >= ? AND r.decided_at < ?"
        f"{shop_sql} GROUP BY r.status, r.reason",
        [period.lo, period.hi, *shop_params],
    ):
        if status == "credited":
            credited += n(count)
        else:
            refused[str(reason)] = refused.get(str(reason), 0) + n(count)
    return {"credited": credited, "refused_by_reason": dict(sorted(refused.items()))}
