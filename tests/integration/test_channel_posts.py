"""A channel (the web shop) posts purchases, refunds and redemptions to a real head office on
127.0.0.1 (SQLite and PostgreSQL) over real HTTP with its own token: each is stored exactly
once under the channel's own chain, earns by the program's rules, and reaches two tills
through their pull."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from loyalty.ledger import GENESIS, entry_hash
from tests.channel_fixtures import ChannelShop, channel_shop, line
from tests.sync_fixtures import buy, postgres, store_url

__all__ = ["channel_shop", "postgres", "store_url"]


def _entries(shop: ChannelShop, terminal_id: str) -> list[tuple[object, ...]]:
    with shop.ho.store.transaction() as tx:
        return tx.all(
            "SELECT entry_id, terminal_id, seq, member_id, kind, points, amount_minor, currency, "
            "receipt_no, reverses, reward_id, program_version, occurred_at, offline, cashier_id, "
            "reason, prev_hash, hash FROM entries WHERE terminal_id = ? ORDER BY seq",
            (terminal_id,),
        )


def _chain_ok(rows: list[tuple[object, ...]]) -> bool:
    prev = GENESIS
    for i, r in enumerate(rows, 1):
        fields = tuple(int(x) if isinstance(x, bool) else x for x in r[:16])
        if r[2] != i or r[16] != prev or r[17] != entry_hash(prev, fields):
            return False
        prev = str(r[17])
    return True


def test_web_points_reach_both_tills(channel_shop: ChannelShop) -> None:
    shop = channel_shop
    shop.member("ANN")
    athens, c_athens = shop.till("ATH1")
    warsaw, c_warsaw = shop.till("WAW1")
    web = shop.channel("web")

    # EUR 25 of groceries on a Tuesday: 25 base, 25 for double points, 100 welcome bonus.
    answer = web.ok("purchases", {"member_id": "ANN", "order_id": "W-1001",
                                  "lines": [line(2500)]})  # fmt: skip
    assert answer["points"] == 150
    assert sorted(e["reason"] for e in answer["entries"]) == [
        "base", "promo:double-tuesday", "promo:welcome"]  # fmt: skip
    assert sum(points for points, _ in answer["member"]["pending"]) == 150

    # Attributed to the channel, in its own chain (not a till's, not head office's).
    rows = _entries(shop, "@channel:web")
    assert [r[14] for r in rows] == ["web"] * 3 and {r[8] for r in rows} == {"W-1001"}
    assert _chain_ok(rows)

    c_athens.sync()
    c_warsaw.sync()
    hq = shop.ho.member("ANN")
    for till in (athens, warsaw):
        local = till.balance("ANN", shop.clock.now)
        hq_pending = sum(points for points, _ in hq.pending)
        assert (local.available, local.pending) == (0, 150) == (hq.balance, hq_pending)

    # The welcome bonus is once chain-wide: a till selling to ANN later does not pay it again.
    assert "welcome" in hq.once_paid
    sold = buy(athens, "ANN", 1000, now=shop.clock.now)
    assert all(x.reason != "promo:welcome" for x in sold.earned)


def test_retry_returns_the_first_answer_and_stores_nothing(channel_shop: ChannelShop) -> None:
    shop = channel_shop
    shop.member("BOB")
    web = shop.channel("web")
    body = {"member_id": "BOB", "order_id": "W-2", "lines": [line(1000)]}
    first = web.post("purchases", body, key="order-W-2")
    count = shop.ho.entry_count()
    again = web.post("purchases", body, key="order-W-2")
    assert (again.status_code, again.content) == (201, first.content)
    assert shop.ho.entry_count() == count

    other = web.post("purchases", {**body, "lines": [line(9999)]}, key="order-W-2")
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    dup = web.post("purchases", body, key="another-key")
    assert (dup.status_code, dup.json()["code"]) == (409, "duplicate_order")
    assert dup.json()["params"]["ref"] == "W-2"
    assert shop.ho.entry_count() == count

    # A key is the channel's own: another channel may use the same one.
    app = shop.channel("app")
    assert app.post("purchases", {**body, "order_id": "A-2"}, key="order-W-2").status_code == 201
    missing = web.http.post("/v1/channel/purchases", json=body)
    assert (missing.status_code, missing.json()["code"]) == (400, "idempotency_key_required")


def test_refunds_reverse_in_proportion_never_beyond(channel_shop: ChannelShop) -> None:
    shop = channel_shop
    shop.member("CAT")
    web = shop.channel("web")
    shop.clock.advance(days=1)  # a Wednesday: no double points
    web.ok("purchases", {"member_id": "CAT", "order_id": "W-3", "lines": [line(4000)]})
    half = web.ok("refunds", {"refund_id": "R-1", "order_id": "W-3", "amount_minor": 2000})
    # Base 40 -> 20 back; the welcome bonus (100) -> 50 back, as a till's refund does.
    assert sorted((e["reason"], e["points"]) for e in half["entries"]) == [
        ("refund:base", -20), ("refund:promo:welcome", -50)]  # fmt: skip
    too_much = web.post("refunds", {"refund_id": "R-2", "order_id": "W-3", "amount_minor": 2001})
    assert (too_much.status_code, too_much.json()["code"]) == (422, "refund_exceeds_order")
    rest = web.ok("refunds", {"refund_id": "R-3", "order_id": "W-3", "amount_minor": 2000})
    assert rest["points"] == -70
    assert shop.ho.member("CAT").pending == []
    unknown = web.post("refunds", {"refund_id": "R-4", "order_id": "NOPE", "amount_minor": 1})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_order")
    again = web.post("refunds", {"refund_id": "R-1", "order_id": "W-3", "amount_minor": 1})
    assert again.json()["code"] == "duplicate_refund"


def test_redemption_is_refused_below_zero(channel_shop: ChannelShop) -> None:
    shop = channel_shop
    shop.member("DAN")
    till, client = shop.till("ATH1")
    web = shop.channel("web")
    web.ok("purchases", {"member_id": "DAN", "order_id": "W-4", "lines": [line(30000)]})
    body = {"member_id": "DAN", "redemption_id": "X-1", "points": 250, "reward_id": "coffee"}
    pending = web.post("redemptions", body)
    assert (pending.status_code, pending.json()["code"]) == (409, "insufficient_points")
    assert pending.json()["params"]["available"] == 0
    # The return window closed: 700 points are spendable (300 base, 300 on a Tuesday, welcome).
    shop.clock.advance(days=15)
    spent = web.ok("redemptions", body)
    assert spent["points"] == -250 and spent["member"]["balance"] == 700 - 250
    over = web.post("redemptions", {**body, "redemption_id": "X-2", "reward_id": None,
                                    "points": 451})  # fmt: skip
    assert (over.status_code, over.json()["params"]["available"]) == (409, 450)
    wrong = web.post("redemptions", {**body, "redemption_id": "X-3", "points": 100})
    assert wrong.json()["code"] == "points_not_reward_cost"
    client.sync()
    assert till.balance("DAN", shop.clock.now).available == 450


def test_bad_posts_are_refused_and_store_nothing(channel_shop: ChannelShop) -> None:
    shop = channel_shop
    shop.member("EVE")
    web = shop.channel("web")
    count = shop.ho.entry_count()
    nobody = web.post("purchases", {"member_id": "NOBODY", "order_id": "W-5",
                                    "lines": [line(100)]})  # fmt: skip
    assert (nobody.status_code, nobody.json()["code"]) == (404, "unknown_member")
    # The refused post kept nothing, not even its key: sent again for a real member, it works.
    zero = web.post("purchases", {"member_id": "EVE", "order_id": "W-6", "lines": [line(0)]})
    assert (zero.status_code, zero.json()["code"]) == (422, "empty_order")
    extra = web.post("purchases", {"member_id": "EVE", "order_id": "W-7", "lines": [line(1)],
                                   "points": 5000})  # fmt: skip
    assert extra.status_code == 422
    assert shop.ho.entry_count() == count

    shop.ho.revoke_channel("web")
    revoked = web.post("purchases", {"member_id": "EVE", "order_id": "W-8", "lines": [line(1)]})
    assert (revoked.status_code, revoked.json()["code"]) == (403, "channel_revoked")
    assert shop.ho.entry_count() == count
    # A till's token cannot post as a channel, nor a channel push as a till.
    _, client = shop.till("ATH1")
    assert client.http.post("/v1/channel/purchases", json={}).status_code == 403


def test_occurred_at_is_never_later_than_head_office(channel_shop: ChannelShop) -> None:
    shop = channel_shop
    shop.member("FAY")
    web = shop.channel("web")
    later = (shop.clock.now + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    web.ok("purchases", {"member_id": "FAY", "order_id": "W-9", "lines": [line(1000)],
                         "occurred_at": later})  # fmt: skip
    rows = _entries(shop, "@channel:web")
    assert {r[12] for r in rows} == {shop.clock.now.strftime("%Y-%m-%dT%H:%M:%S.000000Z")}


def test_two_posts_at_once_cannot_overdraw(channel_shop: ChannelShop) -> None:
    """Two redemptions of 400 of 700 points at once: one is refused. Two posts with one key at
    once: one order is stored, and both get its answer."""
    shop = channel_shop
    shop.member("GUS")
    web, app = shop.channel("web"), shop.channel("app")
    web.ok("purchases", {"member_id": "GUS", "order_id": "W-10", "lines": [line(30000)]})
    shop.clock.advance(days=15)
    bodies = [{"member_id": "GUS", "redemption_id": f"X-{i}", "points": 400} for i in (1, 2)]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda ch_b: ch_b[0].post("redemptions", ch_b[1]),
                                zip((web, app), bodies, strict=True)))  # fmt: skip
    assert sorted(a.status_code for a in answers) == [201, 409]
    assert shop.ho.member("GUS").balance == 300

    body = {"member_id": "GUS", "order_id": "W-11", "lines": [line(1000)]}
    count = shop.ho.entry_count()
    with ThreadPoolExecutor(4) as pool:
        same = list(pool.map(lambda _: web.post("purchases", body, key="once"), range(4)))
    assert {a.status_code for a in same} == {201} and len({a.content for a in same}) == 1
    assert shop.ho.entry_count() == count + 1
