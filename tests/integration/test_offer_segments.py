"""Segments of personal offers, evaluated by a real head office's database (SQLite and
PostgreSQL): by tier, by a category bought in the last N days, by birthday month, lapsed N
days, a list of members, and their conjunction; the dry run's count and warnings; the admin
API over real HTTP (the document's roles say the same as the routes)."""

from __future__ import annotations

import datetime as dt

import httpx
import msgspec

from loyalty.db import utc_now
from sync import protocol as p
from sync import protocol_offers as po
from sync.headoffice import offers
from sync.headoffice.openapi import openapi_document
from tests.channel_fixtures import ChannelShop, channel_shop, line
from tests.sync_fixtures import ADMIN, Shop, buy, postgres, shop, store_url

__all__ = ["channel_shop", "postgres", "shop", "store_url"]


def request(segment: dict[str, object], offer_id: str = "o1", **fields: object) -> po.OfferRequest:
    day = utc_now().date()
    raw: dict[str, object] = {
        "offer_id": offer_id,
        "name": {"en": "Treat"},
        "kind": "multiplier",
        "multiplier_percent": 300,
        "categories": ["fresh"],
        "starts": day.isoformat(),
        "ends": (day + dt.timedelta(days=10)).isoformat(),
        "segment": segment,
        "dry_run": True,
    }
    raw.update(fields)
    return msgspec.convert(raw, po.OfferRequest)


def reached(shop: Shop, segment: dict[str, object]) -> int:
    return offers.create(shop.ho, request(segment)).reached


def test_each_kind_of_segment(shop: Shop) -> None:
    shop.member("ANN", birthday="05-14")
    shop.member("BOB", birthday="05-30")
    shop.member("CAT", birthday="11-02")
    shop.member("DAN", status="blocked", birthday="05-01")  # never reached: not active
    shop.member("EVE")
    till, client = shop.till("T1")
    now = utc_now()
    buy(till, "ANN", 2500, now=now - dt.timedelta(days=200))  # lapsed since
    buy(till, "BOB", 60000, now=now - dt.timedelta(days=2))  # bought lately, and Oak now
    buy(till, "CAT", 2500, now=now - dt.timedelta(days=100))
    client.sync()

    assert offers.create(shop.ho, request({})).members_total == 4
    assert reached(shop, {"birthday_month": 5}) == 2
    assert reached(shop, {"birthday_month": 12}) == 0
    assert reached(shop, {"tiers": ["oak"]}) == 1
    assert reached(shop, {"tiers": ["olive"]}) == 3  # no tier yet counts as the first
    assert reached(shop, {"lapsed_days": 90}) == 2  # Ann and Cat; Eve never bought
    assert reached(shop, {"lapsed_days": 150}) == 1
    assert reached(shop, {"members": ["ANN", "CAT", "DAN", "NOBODY"]}) == 2
    assert reached(shop, {"birthday_month": 5, "lapsed_days": 90}) == 1  # Ann
    assert reached(shop, {"members": ["ANN", "BOB"], "tiers": ["oak"]}) == 1


def test_a_category_bought_in_the_last_days(shop: Shop) -> None:
    for member_id in ("ANN", "BOB", "CAT"):
        shop.member(member_id)
    till, client = shop.till("T1")
    now = utc_now()
    from loyalty.rules import BasketLine
    from loyalty.sales import SaleRequest, sale

    def basket(member_id: str, category: str, days_ago: int) -> None:
        line = BasketLine("SKU-9", category, 1500)
        sale(till, SaleRequest(member_id, "cashier1", (line,)), now - dt.timedelta(days=days_ago))

    basket("ANN", "fresh", 50)  # twice in one push, days apart: the later counts
    basket("ANN", "fresh", 3)
    basket("BOB", "fresh", 40)
    basket("CAT", "wine", 1)
    client.sync()
    assert reached(shop, {"bought_category": "fresh"}) == 1
    assert reached(shop, {"bought_category": "fresh", "bought_days": 60}) == 2
    assert reached(shop, {"bought_category": "wine", "bought_days": 7}) == 1
    assert reached(shop, {"bought_category": "cheese"}) == 0


def test_the_admin_api_over_http(shop: Shop) -> None:
    for member_id in ("ANN", "BOB"):
        shop.member(member_id)
    body = p.encode(request({"members": ["ANN"]}))
    admin = {"Authorization": f"Bearer {ADMIN}"}
    till = {"Authorization": f"Bearer {shop.ho.register_till('T1')}"}
    with httpx.Client(base_url=shop.url, trust_env=False) as http:
        assert http.post("/v1/offers", content=body, headers=till).status_code == 403
        dry = http.post("/v1/offers", content=body, headers=admin)
        assert dry.status_code == 200 and dry.json()["reached"] == 1
        assert http.get("/v1/offers", headers=admin).json() == {"offers": []}
        real = p.encode(request({"members": ["ANN"]}, dry_run=False))
        made = http.post("/v1/offers", content=real, headers=admin)
        assert made.status_code == 201 and made.json()["reached"] == 1
        again = http.post("/v1/offers", content=real, headers=admin)
        assert (again.status_code, again.json()["code"]) == (409, "offer_exists")
        nobody = p.encode(request({"tiers": ["laurel"]}, "o2", dry_run=False))
        refused = http.post("/v1/offers", content=nobody, headers=admin)
        assert (refused.status_code, refused.json()["code"]) == (422, "segment_matches_nobody")
        bad = p.encode(request({}, "o3", kind="bonus", bonus_points=0))
        refused = http.post("/v1/offers", content=bad, headers=admin)
        assert refused.json() == {"code": "malformed_offer", "params": {"field": "bonus_points"}}
        listed = http.get("/v1/offers", headers=admin).json()["offers"]
        assert [(o["offer"]["offer_id"], o["reached"], o["used"]) for o in listed] == [("o1", 1, 0)]
    doc = openapi_document()["paths"]["/v1/offers"]
    assert doc["post"]["x-roles"] == doc["get"]["x-roles"] == ["admin"]


def test_a_web_order_counts_for_a_category_segment(channel_shop: ChannelShop) -> None:
    shop = channel_shop
    for member_id in ("ANN", "BOB"):
        shop.member(member_id)
    web = shop.channel("web")
    web.ok("purchases", {"member_id": "ANN", "order_id": "W-1", "lines": [line(3000, "wine")]})
    asked = request({"bought_category": "wine", "bought_days": 7})
    december = msgspec.structs.replace(asked, starts="2026-12-01", ends="2026-12-31")
    assert offers.create(shop.ho, december).reached == 1


def test_the_daily_jobs_give_the_offer_to_who_entered_its_segment(shop: Shop) -> None:
    from sync.headoffice.jobs import run_due

    for member_id in ("ANN", "BOB", "CAT"):
        shop.member(member_id)
    till, client = shop.till("T1")
    now = utc_now()
    buy(till, "ANN", 2500, now=now - dt.timedelta(days=100))
    buy(till, "BOB", 2500, now=now - dt.timedelta(days=60))
    buy(till, "CAT", 2500, now=now - dt.timedelta(days=1))
    client.sync()
    winback = request({"lapsed_days": 90}, "winback", dry_run=False,
                      ends=(now.date() + dt.timedelta(days=60)).isoformat())  # fmt: skip
    assert offers.create(shop.ho, winback).reached == 1  # Ann
    assert run_due(shop.ho).offers_given == 0  # nobody new yet
    later = now + dt.timedelta(days=40)  # Bob has lapsed too by now; Cat has not
    shop.ho.clock = lambda: later
    assert run_due(shop.ho, later).offers_given == 1
    client.sync()
    assert [m for m in ("ANN", "BOB", "CAT") if till.member(m).offers] == ["ANN", "BOB"]
    assert run_due(shop.ho, later).offers_given == 0  # each once
