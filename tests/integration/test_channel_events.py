"""Engagement events posted by channels to a real head office on 127.0.0.1 (SQLite and
PostgreSQL) over real HTTP: the program's rule pays its points, within its cap per period and
its minimum account age, chain-wide and exactly once; each refusal says why and stores
nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.channel_fixtures import ChannelShop, channel_shop, line
from tests.sync_fixtures import postgres, store_url

__all__ = ["channel_shop", "postgres", "store_url"]


def _event(event_id: str, action: str, member_id: str = "ANN") -> dict[str, str]:
    return {"member_id": member_id, "event_id": event_id, "action": action}


def test_reviews_earn_up_to_the_cap_each_month(channel_shop: ChannelShop) -> None:
    shop = channel_shop
    shop.member("ANN")
    till, client = shop.till("ATH1")
    web = shop.channel("web")
    # ANN's account opens with her first order; a review within 7 days earns nothing.
    web.ok("purchases", {"member_id": "ANN", "order_id": "W-1", "lines": [line(1000)]})
    young = web.post("events", _event("E-0", "review_written"))
    assert (young.status_code, young.json()["code"]) == (409, "account_too_young")
    assert young.json()["params"] == {"member": "ANN", "action": "review_written",
                                      "minimum": 7, "n": 0}  # fmt: skip
    shop.clock.advance(days=8)  # 9 December
    for i in (1, 2, 3):
        answer = web.ok("events", _event(f"E-{i}", "review_written"))
        (entry,) = answer["entries"]
        assert (entry["kind"], entry["points"]) == ("bonus", 50)
        assert entry["reason"] == "engage:review_written"
    capped = web.post("events", _event("E-4", "review_written"))
    assert (capped.status_code, capped.json()["code"]) == (409, "engagement_capped")
    assert capped.json()["params"]["limit"] == 3 and capped.json()["params"]["period"] == "month"
    dup = web.post("events", _event("E-3", "review_written"))
    assert (dup.status_code, dup.json()["code"]) == (409, "duplicate_event")

    client.sync()
    pending = till.balance("ANN", shop.clock.now).pending
    # A Tuesday order (10 and 10 more), the welcome bonus, three reviews.
    assert pending == sum(x for x, _ in shop.ho.member("ANN").pending) == 10 + 10 + 100 + 150

    shop.clock.advance(days=25)  # 3 January: a new month, a new cap
    assert web.post("events", _event("E-4", "review_written")).status_code == 201


def test_bad_events_say_why_and_store_nothing(channel_shop: ChannelShop) -> None:
    shop = channel_shop
    shop.member("BOB")
    web = shop.channel("web")
    count = shop.ho.entry_count()
    nobody = web.post("events", _event("E-1", "social_follow", "NOBODY"))
    assert (nobody.status_code, nobody.json()["code"]) == (404, "unknown_member")
    unknown = web.post("events", _event("E-2", "liked_a_post", "BOB"))
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_action")
    assert unknown.json()["params"] == {"action": "liked_a_post"}
    bad = web.post("events", {**_event("E-3", "social_follow", "BOB"), "points": 1000})
    assert bad.status_code == 422
    assert shop.ho.entry_count() == count
    first = web.ok("events", _event("E-4", "social_follow", "BOB"), key="follow-BOB")
    assert web.ok("events", _event("E-4", "social_follow", "BOB"), key="follow-BOB") == first
    shop.ho.revoke_channel("web")
    revoked = web.post("events", _event("E-5", "app_signup", "BOB"))
    assert (revoked.status_code, revoked.json()["code"]) == (403, "channel_revoked")
    assert shop.ho.entry_count() == count + 1


def test_the_cap_holds_with_two_posts_at_once(channel_shop: ChannelShop) -> None:
    """The web shop and the app both post ANN's follow (once ever) at the same moment, four
    times over: one earns, every other is capped."""
    shop = channel_shop
    web, app = shop.channel("web"), shop.channel("app")
    for n in range(4):
        member_id = f"M{n}"
        shop.member(member_id)
        posts = [(web, _event(f"W-{n}", "social_follow", member_id)),
                 (app, _event(f"A-{n}", "social_follow", member_id))]  # fmt: skip
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda c: c[0].post("events", c[1]), posts))
        assert sorted(a.status_code for a in answers) == [201, 409]
        assert {a.json().get("code") for a in answers} == {None, "engagement_capped"}
        assert shop.ho.member(member_id).pending[0][0] == 20


def test_admin_lists_the_events(channel_shop: ChannelShop) -> None:
    import httpx

    from tests.sync_fixtures import ADMIN

    shop = channel_shop
    shop.member("ANN")
    till, client = shop.till("ATH1")
    web = shop.channel("web")
    web.ok("events", _event("F-1", "social_follow"))
    from loyalty.engagement_at_till import record

    record(till, "ANN", "profile_completed", "cashier1", shop.clock.now)
    client.sync()
    with httpx.Client(base_url=shop.url, trust_env=False,
                      headers={"Authorization": f"Bearer {ADMIN}"}) as admin:  # fmt: skip
        events = admin.get("/v1/events", params={"member": "ANN"}).json()["events"]
        seen = sorted((e["action"], e["source"], e["event_id"]) for e in events)
        assert seen == [("profile_completed", "ATH1", None),
                        ("social_follow", "@channel:web", "F-1")]  # fmt: skip
        assert admin.get("/v1/events", params={"limit": 0}).json()["code"] == "malformed_limit"
        assert admin.get("/v1/events", params={"action": "X!"}).status_code == 422
    assert web.http.get("/v1/events").status_code == 403
