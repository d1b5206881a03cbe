"""Referrals online: a member signs up on the web shop with a friend's code (head office's
admin endpoint over real HTTP) and their first qualifying purchase is a web order (a channel's
post) or a sale at an offline till, whichever head office stores first: both members are
credited once. SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from tests.channel_fixtures import ChannelShop, channel_shop, line
from tests.sync_fixtures import ADMIN, buy, postgres, store_url

__all__ = ["channel_shop", "postgres", "store_url"]


def _bonuses(shop: ChannelShop) -> list[tuple[str, int]]:
    with shop.ho.store.transaction() as tx:
        rows = tx.all(
            "SELECT member_id, points FROM entries WHERE terminal_id = '@headoffice' "
            "AND reason LIKE 'referral:%' ORDER BY member_id"
        )
    return [(r[0], int(r[1])) for r in rows]


def test_a_web_sign_up_with_a_code_is_credited_once_by_a_web_order_or_a_till_sale(
    channel_shop: ChannelShop,
) -> None:
    shop = channel_shop
    shop.member("ANN", display_name="Anna")
    code = shop.ho.member("ANN").referral_code
    assert code is not None
    admin = httpx.Client(base_url=shop.url, headers={"Authorization": f"Bearer {ADMIN}"},
                         trust_env=False, timeout=30)  # fmt: skip
    shop.opened.append(admin)  # type: ignore[arg-type]
    typo = code[:5] + ("Z" if code[5] != "Z" else "Y") + code[6:]
    refused = admin.put("/v1/members/BEA", json={"display_name": "Bea", "referred_by": typo})
    assert refused.status_code == 422 and refused.json()["code"] == "referral_code_mistyped"
    signed_up = admin.put(
        "/v1/members/BEA", json={"display_name": "Bea", "referred_by": code[:4] + "-" + code[4:]}
    )
    assert signed_up.status_code == 200, signed_up.text
    till, client = shop.till("ATH1")  # pulls Bea, then goes offline
    buy(till, "BEA", 3000)
    web = shop.channel("web")
    web.ok("purchases", {"member_id": "BEA", "order_id": "W-1", "lines": [line(2500)]})
    assert _bonuses(shop) == [("ANN", 200), ("BEA", 100)]
    client.sync()  # the till's sale arrives second: nothing more
    web.ok("purchases", {"member_id": "BEA", "order_id": "W-2", "lines": [line(4000)]})
    assert _bonuses(shop) == [("ANN", 200), ("BEA", 100)]
    client.sync()
    for member, points in (("ANN", 200), ("BEA", 100)):
        hq = shop.ho.member(member)
        local = till.balance(member, shop.clock())
        assert local.unsynced_points == 0
        assert local.available + local.pending == hq.balance + sum(x for x, _ in hq.pending)
        assert sum(x for x, _ in hq.pending) >= points
    # W-1 is returned: Bea's other purchases still qualify, so the referral stands on one.
    web.ok("refunds", {"refund_id": "R-1", "order_id": "W-1", "amount_minor": 2500})
    assert _bonuses(shop) == [("ANN", 200), ("BEA", 100)]
    with shop.ho.store.transaction() as tx:
        assert tx.one("SELECT 1 FROM entries WHERE reason LIKE 'referral_refunded:%'") is None
    listed = admin.get("/v1/referrals").json()["referrals"]
    assert [(r["member_id"], r["referrer_id"], r["status"], r["source"]) for r in listed] == [
        ("BEA", "ANN", "credited", "admin")
    ]
