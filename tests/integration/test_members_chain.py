"""One member across a chain: two real tills and a real head office (SQLite and PostgreSQL).

Head office's clock is moved by an injected clock; the tills keep the real one and learn the
difference (the drift) at each sync, as a real till does."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty.db import utc_now
from loyalty.errors import Refused
from loyalty.till import Till
from tests.sync_fixtures import Shop, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]


class Clock:
    """One moved clock for head office and the tills (each till may be off by ``drift``)."""

    def __init__(self) -> None:
        self.shift = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return utc_now() + self.shift


def assert_balances_agree(shop: Shop, now: dt.datetime, member_id: str, *tills: Till) -> int:
    hq = shop.ho.member(member_id)
    for till in tills:
        local = till.balance(member_id, now)
        assert local.unsynced_points == 0, till.terminal_id
        assert (local.available, local.pending) == (
            hq.balance,
            sum(points for points, _ in hq.pending),
        ), till.terminal_id
    return hq.balance


def test_a_till_synced_a_minute_ago_trusts_a_member_idle_for_three_days(shop: Shop) -> None:
    clock = Clock()
    shop.ho.clock = clock
    shop.member("ANN")
    athens, c_athens = shop.till("ATH1", clock=clock)
    warsaw, c_warsaw = shop.till("WAW1", clock=clock)
    warsaw.adjust("ANN", 2000, "welcome gift", "manager1")
    c_warsaw.sync()
    c_athens.sync()
    assert athens.balance("ANN").available == 2000
    # Three days and an hour later (head office's clock), ANN has not shopped anywhere.
    clock.shift = dt.timedelta(days=3, hours=1)
    # Athens has not synced since: its word on ANN is three days old, too old offline.
    with pytest.raises(Refused) as info:
        buy(athens, "ANN", 2500, clock(), reward_id="five-off")
    assert info.value.code == "snapshot_too_old"
    # A sync that brings nothing new about ANN still says head office's word is current.
    report = c_athens.sync()
    assert report.members == 0
    sale = buy(athens, "ANN", 2500, clock(), reward_id="five-off")
    assert sale.mode == "offline" and sale.after.available == 1500
    c_athens.sync()
    c_warsaw.sync()
    assert assert_balances_agree(shop, clock(), "ANN", athens, warsaw) == 1500
