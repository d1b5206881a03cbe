"""What a member did on the channels reaches every till with the pull and shows there: the
member's newest channel activity on the receipt of their next sale, in their language, the
same on a reprint (only what the till knew at the sale), on SQLite and PostgreSQL head offices."""

from __future__ import annotations

import datetime as dt

from loyalty import channel_activity
from printer import Line, Row
from terminal.i18n import translator
from terminal.receipts import Shop, from_sale, from_store
from tests.channel_fixtures import ChannelShop, channel_shop, line
from tests.sync_fixtures import buy, postgres, store_url

__all__ = ["channel_shop", "postgres", "store_url"]
SHOP = Shop("Olive & Oak")


def _online(receipt: object) -> list[tuple[str, str]]:
    """The rows under the receipt's "recent activity online" line."""
    blocks = list(receipt.blocks)  # type: ignore[attr-defined]
    titles = [i for i, b in enumerate(blocks) if isinstance(b, Line) and b.text in _TITLES]
    if not titles:
        return []
    out = []
    for b in blocks[titles[0] + 1 :]:
        if not isinstance(b, Row):
            break
        out.append((b.label, b.value))
    return out[:3]


_TITLES = {translator(lang)("receipt.online.title") for lang in ("en", "el")}


def test_web_activity_shows_on_the_next_receipt_at_both_tills(channel_shop: ChannelShop) -> None:
    shop = channel_shop
    shop.member("ANN")
    athens, c_athens = shop.till("ATH1", clock=shop.clock)
    warsaw, c_warsaw = shop.till("WAW1", clock=shop.clock)
    web = shop.channel("web")
    web.ok("purchases", {"member_id": "ANN", "order_id": "W-1", "lines": [line(2500)]})
    web.ok("events", {"member_id": "ANN", "event_id": "F-1", "action": "social_follow"})
    shop.clock.advance(days=15)
    web.ok("redemptions", {"member_id": "ANN", "redemption_id": "X-1", "points": 100})
    c_athens.sync()
    c_warsaw.sync()
    for till in (athens, warsaw):
        with till.db.read() as conn:
            seen = channel_activity.recent(conn, "ANN")
        assert [(a.kind, a.points) for a in seen] == [
            ("redemption", -100), ("event", 20), ("purchase", 150)]  # fmt: skip

    shop.clock.advance(minutes=1)
    sold = buy(warsaw, "ANN", 1000, now=shop.clock.now)
    printed = from_sale(sold, "cashier1", warsaw, SHOP)
    t = translator("en")
    expected = [
        ("Points used online", "100"),
        ("Thank you: Social media follow", "20"),
        (f"Bought online, {t.money(2500, 'EUR')}", "150"),
    ]
    assert _online(printed) == expected

    # Later the app posts ANN's sign-up; the reprint of that sale still shows what it showed.
    shop.clock.advance(hours=1)
    web.ok("events", {"member_id": "ANN", "event_id": "A-1", "action": "app_signup"})
    c_warsaw.sync()
    again = from_store(warsaw, sold.receipt_no, SHOP, shop.clock.now)
    assert _online(again) == expected
    shop.clock.advance(minutes=1)
    latest = from_sale(buy(warsaw, "ANN", 1000, now=shop.clock.now), "cashier1", warsaw, SHOP)
    assert _online(latest)[0] == ("Thank you: App sign-up", "50")


def test_in_the_members_language(channel_shop: ChannelShop) -> None:
    shop = channel_shop
    shop.member("ELE", language="el")
    till, client = shop.till("ATH1", clock=shop.clock)
    web = shop.channel("web")
    web.ok("purchases", {"member_id": "ELE", "order_id": "W-9", "lines": [line(4000)]})
    web.ok("refunds", {"refund_id": "R-9", "order_id": "W-9", "amount_minor": 1000})
    client.sync()
    shop.clock.advance(minutes=5)
    receipt = from_sale(buy(till, "ELE", 1000, now=shop.clock.now), "cashier1", till, SHOP)
    t = translator("el")
    labels = [label for label, _ in _online(receipt)]
    assert labels == [f"Διαδικτυακή επιστροφή, {t.money(1000, 'EUR')}",
                      f"Διαδικτυακή αγορά, {t.money(4000, 'EUR')}"]  # fmt: skip


def test_a_malformed_activity_row_is_skipped(channel_shop: ChannelShop) -> None:
    shop = channel_shop
    till, _ = shop.till("ATH1", pull=False)
    good = {"member_id": "ANN", "channel_id": "web", "kind": "event", "ref": "E-1", "points": 20,
            "amount_minor": 0, "occurred_at": "2026-12-01T10:00:00.000000Z",
            "action": "social_follow"}  # fmt: skip
    bad = [
        {**good, "kind": "transfer"}, {**good, "points": "20"}, {**good, "ref": "x\n"},
        {**good, "points": 10**13}, {**good, "action": "DROP TABLE"}, {"member_id": "ANN"},
    ]  # fmt: skip
    now = dt.datetime(2026, 12, 1, 11, tzinfo=dt.UTC).isoformat()
    with till.db.write() as conn:
        assert channel_activity.store(conn, [*bad, good, good], now) == 1
        assert [a.ref for a in channel_activity.recent(conn, "ANN")] == ["E-1"]
