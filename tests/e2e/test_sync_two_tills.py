"""End to end over real HTTP on 127.0.0.1: two tills and one head office. Both tills sell
offline (to the same member too), then sync; balances agree everywhere; a web-shop order shows
on a till after its next pull; syncing again changes nothing."""

from __future__ import annotations

import httpx

from loyalty import outbox
from sync import protocol as p
from tests.sync_fixtures import Shop, assert_exactly_once, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]


def test_two_tills_and_the_web_shop_agree_after_sync(shop: Shop) -> None:
    for member_id in ("ANN", "BOB", "CAT"):
        shop.member(member_id)
    athens, c_athens = shop.till("ATH1")
    warsaw, c_warsaw = shop.till("WAW1")
    # The web shop is a channel with its own token, pushing through the same API.
    web, c_web = shop.till("WEB")

    # Offline: both tills sell, ANN buys in both shops; CAT enrols in Warsaw.
    buy(athens, "ANN", 4200)
    buy(athens, "BOB", 1500)
    buy(warsaw, "ANN", 9900)
    cat = warsaw.enroll("Cat", "cashier1", consent=True, language="pl")
    buy(warsaw, cat.member.member_id, 2300)
    refund_of = buy(athens, "ANN", 3000)
    from loyalty.refunds import refund

    refund(athens, refund_of.receipt_no, "cashier1")

    c_athens.sync()
    c_warsaw.sync()
    c_athens.sync()  # Athens pulls what Warsaw pushed
    assert_exactly_once(shop.ho, athens, warsaw)
    for member_id in ("ANN", "BOB", cat.member.member_id):
        hq = shop.ho.member(member_id)
        for till in (athens, warsaw):
            local = till.balance(member_id)
            assert local.unsynced_points == 0
            assert (local.available, local.pending) == (
                hq.balance,
                sum(points for points, _ in hq.pending),
            ), (member_id, till.terminal_id)
    assert shop.ho.member(cat.member.member_id).display_name == "Cat"

    # A web-shop order earns ANN 500 points (an adjustment from the web channel).
    web.adjust("ANN", 500, "webshop order W-1001", "webshop")
    c_web.sync()
    before = athens.balance("ANN").available
    c_athens.sync()
    assert athens.balance("ANN").available == before + 500 == shop.ho.member("ANN").balance

    # Running sync again changes nothing anywhere.
    stored = shop.ho.entry_count()
    for client in (c_athens, c_warsaw, c_web):
        again = client.sync()
        assert (again.pushed, again.duplicates, again.outbox) == (0, 0, 0)
    assert shop.ho.entry_count() == stored
    assert_exactly_once(shop.ho, athens, warsaw, web)

    # What the till says matches what head office says over its own API.
    token = shop.ho.register_till("ATH1", replace=True)
    got = httpx.get(f"{shop.url}/v1/members/ANN", headers={"Authorization": f"Bearer {token}"})
    assert p.decoder(p.MemberState).decode(got.content).balance == athens.balance("ANN").available
    assert outbox.state(athens).clock_drift_ms is not None
