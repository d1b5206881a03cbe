"""Personal offers, chain-wide: defined at a real head office (SQLite and PostgreSQL) for a
segment, pulled by two real tills over HTTP with the member, applied offline, and their uses
counted once after sync: head office takes back what went beyond the limit, what a dishonest
till gave itself, and gives a use back when a refund reverses it."""

from __future__ import annotations

import datetime as dt
import json
import threading

import msgspec
import pytest

from loyalty.db import utc_now
from loyalty.errors import Refused
from loyalty.refunds import refund
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest, sale
from loyalty.till import Till
from sync import protocol_offers as po
from sync.headoffice import offers
from sync.headoffice.own_entries import HEADOFFICE
from sync.headoffice.rows import ApiProblem
from tests.sync_fixtures import Shop, assert_exactly_once, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]

ATHENS = dt.timezone(dt.timedelta(hours=2))


def today() -> dt.date:
    return utc_now().astimezone(ATHENS).date()


def offer(offer_id: str = "treat", **fields: object) -> po.OfferRequest:
    day = today()
    raw: dict[str, object] = {
        "offer_id": offer_id,
        "name": {"en": "Your treat", "el": "Το κέρασμά σας"},
        "kind": "bonus",
        "bonus_points": 150,
        "starts": (day - dt.timedelta(days=3)).isoformat(),
        "ends": (day + dt.timedelta(days=3)).isoformat(),
        "uses": 1,
        "segment": {"members": ["ANN"]},
    }
    raw.update(fields)
    return msgspec.convert(raw, po.OfferRequest)


def offer_points(shop: Shop, member_id: str) -> int:
    """The member's offer points at head office, net of head office's own take-backs."""
    with shop.ho.store.transaction() as tx:
        rows = tx.all(
            "SELECT terminal_id, kind, points, reason FROM entries WHERE member_id = ?",
            (member_id,),
        )
    return sum(
        int(points)
        for terminal_id, kind, points, reason in rows
        if (kind == "bonus" and reason.startswith("offer:"))
        or (kind == "reverse" and reason.startswith("refund:offer:"))
        or (terminal_id == HEADOFFICE and reason.startswith(("offer_", "already_rev")))
    )


def used(shop: Shop, member_id: str, offer_id: str) -> int:
    with shop.ho.store.transaction() as tx:
        row = tx.one(
            "SELECT used FROM offer_members WHERE member_id = ? AND offer_id = ?",
            (member_id, offer_id),
        )
    assert row is not None
    return int(row[0])


def exact_everywhere(shop: Shop, member_id: str, *tills: Till) -> None:
    hq = shop.ho.member(member_id)
    for till in tills:
        local = till.balance(member_id)
        assert local.unsynced_points == 0, till.terminal_id
        assert local.available == hq.balance, till.terminal_id
        assert local.pending == sum(points for points, _ in hq.pending), till.terminal_id


def test_an_offer_used_at_two_offline_tills_counts_once(shop: Shop) -> None:
    shop.member("ANN")
    shop.member("BOB")
    answer = offers.create(shop.ho, offer(uses=1))
    assert (answer.reached, answer.warning) == (1, None)
    athens, c_athens = shop.till("ATH1")  # each pulls Ann with her offer,
    warsaw, c_warsaw = shop.till("WAW1")  # then the two lose touch.
    assert athens.member("ANN").offers == (("treat", 0),)
    assert athens.member("BOB").offers == ()

    first = buy(athens, "ANN", 2500)
    again = buy(athens, "ANN", 2500)  # one use per member: Athens pays it once
    second = buy(warsaw, "ANN", 2500)  # and Warsaw, not knowing, in good faith
    assert [x.points for x in first.earned if x.reason == "offer:treat"] == [150]
    assert not [x for x in again.earned if x.reason == "offer:treat"]
    assert [x.points for x in second.earned if x.reason == "offer:treat"] == [150]
    assert not [x for x in buy(athens, "BOB", 2500).earned if x.reason.startswith("offer:")]

    c_athens.sync()
    c_warsaw.sync()
    c_athens.sync()
    assert offer_points(shop, "ANN") == 150  # counted once: Warsaw's taken back
    assert used(shop, "ANN", "treat") == 1
    with shop.ho.store.transaction() as tx:
        own = tx.all("SELECT reason FROM entries WHERE terminal_id = ?", (HEADOFFICE,))
    assert [r[0] for r in own if r[0].startswith("offer")] == ["offer_used_up:treat"]
    assert_exactly_once(shop.ho, athens, warsaw)
    exact_everywhere(shop, "ANN", athens, warsaw)
    # Syncing again writes nothing more.
    entries = shop.ho.entry_count()
    c_warsaw.sync()
    c_athens.sync()
    assert shop.ho.entry_count() == entries
    # Warsaw now knows the use is spent: it pays the offer no more.
    assert warsaw.member("ANN").offers == (("treat", 1),)
    assert not [x for x in buy(warsaw, "ANN", 2500).earned if x.reason == "offer:treat"]


def test_a_refund_gives_the_use_back(shop: Shop) -> None:
    shop.member("ANN")
    shop.member("BOB")
    offers.create(shop.ho, offer(uses=1))
    athens, c_athens = shop.till("ATH1")
    sale = buy(athens, "ANN", 2500)
    assert any(x.reason == "offer:treat" for x in sale.earned)
    c_athens.sync()
    assert used(shop, "ANN", "treat") == 1
    refund(athens, sale.receipt_no, "cashier1")
    # Before the refund reaches head office, this till already counts the use given back.
    assert any(x.reason == "offer:treat" for x in buy(athens, "ANN", 2500).earned)
    c_athens.sync()
    assert used(shop, "ANN", "treat") == 1  # the refund gave it back, the new sale took it
    assert offer_points(shop, "ANN") == 150
    exact_everywhere(shop, "ANN", athens)


def test_an_expired_offer_is_not_applied(shop: Shop) -> None:
    shop.member("ANN")
    shop.member("BOB")
    day = today()
    offers.create(
        shop.ho,
        offer(starts=(day - dt.timedelta(days=30)).isoformat(),
              ends=(day + dt.timedelta(days=2)).isoformat(), uses=5),
    )  # fmt: skip
    athens, _ = shop.till("ATH1")
    now = utc_now()
    assert any(x.reason == "offer:treat" for x in buy(athens, "ANN", 2500, now=now).earned)
    later = now + dt.timedelta(days=4)  # the till's clock, after the offer's last day
    assert not [x for x in buy(athens, "ANN", 2500, now=later).earned if "offer" in x.reason]
    assert athens.member("ANN").offers == (("treat", 0),)


def test_a_dishonest_till_that_gives_itself_an_offer_gets_it_taken_back(shop: Shop) -> None:
    shop.member("ANN")
    shop.member("EVE")
    offers.create(shop.ho, offer(uses=1))
    crook, client = shop.till("BAD1")
    with crook.db.write() as conn:  # Eve is not in the segment: the till says she is,
        conn.execute("UPDATE members SET offers_json = ? WHERE member_id = 'EVE'",
                     (json.dumps([["treat", 0], ["vip", 0]]),))  # fmt: skip
        conn.execute(
            "INSERT INTO offers (offer_id, definition_json, received_at) VALUES ('vip', ?, '')",
            (json.dumps({"offer_id": "vip", "name": {"en": "VIP"}, "kind": "bonus",
                         "bonus_points": 5000, "starts": "2000-01-01", "ends": "2100-01-01",
                         "uses": 9}),),
        )  # fmt: skip
    sale = buy(crook, "EVE", 2500)
    assert {x.reason for x in sale.earned} >= {"offer:treat", "offer:vip"}
    client.sync()
    assert offer_points(shop, "EVE") == 0
    with shop.ho.store.transaction() as tx:
        own = sorted(r[0] for r in tx.all("SELECT reason FROM entries WHERE terminal_id = ?",
                                          (HEADOFFICE,)))  # fmt: skip
    assert [r for r in own if r.startswith("offer")] == [
        "offer_not_held:treat",
        "offer_not_held:vip",
    ]
    assert shop.ho.member("EVE").offers == []
    exact_everywhere(shop, "EVE", crook)


def test_a_segment_that_reaches_nobody_or_everybody(shop: Shop) -> None:
    shop.member("ANN")
    shop.member("BOB")
    nobody = offer(segment={"tiers": ["laurel"]}, dry_run=True)
    assert offers.create(shop.ho, nobody).warning == "matches_nobody"
    everybody = offer(segment={}, dry_run=True)
    dry = offers.create(shop.ho, everybody)
    assert (dry.reached, dry.members_total, dry.warning) == (2, 2, "matches_everybody")
    with pytest.raises(ApiProblem) as refused:
        offers.create(shop.ho, offer(segment={"tiers": ["laurel"]}))
    assert refused.value.code == "segment_matches_nobody"
    with pytest.raises(ApiProblem) as refused:
        offers.create(shop.ho, offer(segment={}))
    assert refused.value.code == "segment_matches_everybody"
    assert offers.listed(shop.ho).offers == []  # nothing was created
    assert offers.create(shop.ho, offer(segment={}, everybody=True)).reached == 2
    with pytest.raises(ApiProblem) as refused:
        offers.create(shop.ho, offer(segment={"members": ["ANN"]}))
    assert refused.value.code == "offer_exists"


def test_a_personal_free_coffee_used_at_two_offline_tills_is_charged_once(shop: Shop) -> None:
    shop.member("ANN")
    shop.member("BOB")
    offers.create(shop.ho, offer("coffee4u", kind="reward", reward_id="coffee", cost_points=0))
    athens, c_athens = shop.till("ATH1")
    warsaw, c_warsaw = shop.till("WAW1")
    coffee = BasketLine("CAFE-001", "coffee", 280)
    # Ann has no points yet: the coffee costs her nothing, once at each till in good faith.
    first = sale(athens, SaleRequest("ANN", "cashier1", (coffee,), reward_id="coffee"))
    second = sale(warsaw, SaleRequest("ANN", "cashier1", (coffee,), reward_id="coffee"))
    assert first.pricing.discount_minor == second.pricing.discount_minor == 280
    assert first.pricing.redeemed_points == second.pricing.redeemed_points == 0
    with pytest.raises(Refused):  # a second use at the same till costs the catalogue's 250
        sale(athens, SaleRequest("ANN", "cashier1", (coffee,), reward_id="coffee"))
    c_athens.sync()
    c_warsaw.sync()
    c_athens.sync()
    assert used(shop, "ANN", "coffee4u") == 1
    with shop.ho.store.transaction() as tx:
        own = tx.all(
            "SELECT kind, points, reason FROM entries WHERE terminal_id = ? AND member_id = ?",
            (HEADOFFICE, "ANN"),
        )
    # Warsaw's coffee is charged at the catalogue's price (250 points: Ann goes below zero,
    # as an offline redemption may; head office flags it and offsets it later).
    assert [(k, int(n), r) for k, n, r in own] == [("adjust", -250, "offer_used_up:coffee4u")]
    assert_exactly_once(shop.ho, athens, warsaw)
    exact_everywhere(shop, "ANN", athens, warsaw)


def test_a_till_that_stretches_an_offer_past_its_end_gets_it_taken_back(shop: Shop) -> None:
    shop.member("ANN")
    shop.member("BOB")
    offers.create(shop.ho, offer(uses=3))
    crook, client = shop.till("BAD1")
    later = utc_now() + dt.timedelta(days=10)  # after the offer's last day
    assert not [x for x in buy(crook, "ANN", 2500, now=later).earned if "offer" in x.reason]
    with crook.db.write() as conn:  # the till moves the offer's end in its own database
        (text,) = conn.execute("SELECT definition_json FROM offers").fetchone()
        stretched = {**json.loads(text), "ends": "2100-01-01"}
        conn.execute("UPDATE offers SET definition_json = ?", (json.dumps(stretched),))
    assert [x.points for x in buy(crook, "ANN", 2500, now=later).earned if "offer" in x.reason]
    shop.ho.clock = lambda: later  # head office's clock too is past the offer's end
    client.sync()
    assert offer_points(shop, "ANN") == 0
    assert used(shop, "ANN", "treat") == 0
    exact_everywhere(shop, "ANN", crook)


def test_two_tills_pushing_the_same_use_at_once_count_it_once(shop: Shop) -> None:
    """The last use of several members' offers, paid at two tills that then push at the same
    moment: on PostgreSQL both pushes reach the count concurrently, and one waits for the
    other's row."""
    members = [f"M{i}" for i in range(8)]
    for member_id in [*members, "OUT"]:
        shop.member(member_id)
    offers.create(shop.ho, offer(segment={"members": members}, uses=1))
    (athens, c_athens), (warsaw, c_warsaw) = shop.till("ATH1"), shop.till("WAW1")
    for member_id in members:
        buy(athens, member_id, 2500)
        buy(warsaw, member_id, 2500)
    start = threading.Barrier(2)

    def push(client: object) -> None:
        start.wait()
        client.sync(pull=False)  # type: ignore[attr-defined]

    threads = [threading.Thread(target=push, args=(c,)) for c in (c_athens, c_warsaw)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    c_athens.sync()
    c_warsaw.sync()
    for member_id in members:
        assert offer_points(shop, member_id) == 150, member_id
        assert used(shop, member_id, "treat") == 1
        exact_everywhere(shop, member_id, athens, warsaw)


def test_a_multiplier_paid_above_its_value_keeps_only_its_value(shop: Shop) -> None:
    shop.member("ANN")
    shop.member("BOB")
    offers.create(shop.ho, offer(kind="multiplier", multiplier_percent=300, bonus_points=0,
                                 categories=["fresh"]))  # fmt: skip
    crook, client = shop.till("BAD1")
    with crook.db.write() as conn:  # 10x instead of 3x, in the till's own copy
        (text,) = conn.execute("SELECT definition_json FROM offers").fetchone()
        greedy = {**json.loads(text), "multiplier_percent": 1000}
        conn.execute("UPDATE offers SET definition_json = ?", (json.dumps(greedy),))
    fresh = BasketLine("FR-1", "fresh", 2000)  # 20 base points: the offer is worth 40
    paid = sale(crook, SaleRequest("ANN", "cashier1", (fresh,)))
    assert [x.points for x in paid.earned if x.reason == "offer:treat"] == [180]
    client.sync()
    assert offer_points(shop, "ANN") == 40
    assert used(shop, "ANN", "treat") == 1
    exact_everywhere(shop, "ANN", crook)
