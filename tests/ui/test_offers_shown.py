"""A member's personal offer where people see it: the cashier's member panel, the shopper
display's member card and basket, and the printed receipt, in the member's language (the
panel in the cashier's). The offer reaches the till as a pull would leave it (its definition
in ``offers``, the member's ``offers_json``), on a real till file."""

from __future__ import annotations

import json

from textual.widgets import OptionList

from loyalty import offers
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest, preview, sale
from loyalty.till import Till
from printer import Row
from terminal import shopper_views as views
from terminal.app.services import TillServices
from terminal.receipts import Shop, from_sale
from tests.ui.conftest import NOW, make_app
from tests.ui.test_flows import settle, sign_in, text_of, type_in

TREAT = {
    "offer_id": "treat",
    "name": {"en": "Fresh treat", "pl": "Świeży poczęstunek"},
    "kind": "multiplier",
    "multiplier_percent": 300,
    "categories": ["fresh"],
    "starts": "2026-11-20",
    "ends": "2026-12-31",
    "uses": 2,
}


def give(till: Till, member_id: str, used: int = 0) -> None:
    with till.db.write() as conn:
        offers.store(conn, [TREAT], "2026-11-25T00:00:00.000000Z")
        conn.execute(
            "UPDATE members SET offers_json = ? WHERE member_id = ?",
            (json.dumps([["treat", used]]), member_id),
        )


async def test_the_member_panel_shows_the_offer_and_its_uses_left(services: TillServices) -> None:
    give(services.till, "M000002", used=1)
    app = make_app(services)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await type_in(pilot, "M000002")
        await settle(pilot)
        panel = text_of(app, "#member")
        assert "Offer: Fresh treat, until" in panel
        assert "uses left: 1" in panel


def test_the_shopper_display_and_the_receipt_name_the_offer(services: TillServices) -> None:
    till = services.till
    give(till, "M000002")
    line = BasketLine("FR-1", "fresh", 2000)
    mine = offers.at_till(till, "M000002", NOW)
    balance = till.balance("M000002", NOW)
    shopper = views.Shopper("pl", "Piotr Nowak", balance, mine)
    card = views.card(till.program, shopper, NOW)
    labels = {f.label: f.value for f in card.figures}
    treat = next(label for label in labels if "Świeży poczęstunek" in label)
    assert treat.startswith("Twoja oferta:") and labels[treat] == "Pozostałe użycia: 2"

    ask = SaleRequest("M000002", "anna", (line,))
    basket = views.basket(till.program, shopper, preview(till, ask, NOW), NOW)
    assert basket.basket is not None
    earns = {f.label: f.value for f in basket.basket.earns}
    assert earns["Twoja oferta: Świeży poczęstunek"] == "40"  # 20 base points, three times

    done = sale(till, ask, NOW)
    receipt = from_sale(done, "anna", till, Shop("Olive & Oak"))
    rows = {b.label: b.value for b in receipt.blocks if isinstance(b, Row)}
    assert rows["Twoja oferta: Świeży poczęstunek"] == "40"
    # One use spent: the card now says one is left.
    now_left = offers.at_till(till, "M000002", NOW)
    left = views.card(till.program, views.Shopper("pl", "Piotr", balance, now_left), NOW)
    assert "Pozostałe użycia: 1" in [f.value for f in left.figures]


async def test_a_personal_reward_is_offered_at_the_members_own_cost(
    services: TillServices,
) -> None:
    coffee = {**TREAT, "offer_id": "coffee4u", "kind": "reward", "reward_id": "coffee",
              "cost_points": 0, "name": {"en": "Coffee on us"}}  # fmt: skip
    till = services.till
    with till.db.write() as conn:
        offers.store(conn, [coffee], "2026-11-25T00:00:00.000000Z")
        conn.execute("UPDATE members SET offers_json = '[[\"coffee4u\", 0]]' "
                     "WHERE member_id = 'M000003'")  # fmt: skip
    app = make_app(services)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await type_in(pilot, "M000003")  # Ioana, 300 points: the catalogue's coffee is 250
        await settle(pilot)
        rewards = app.screen.query_one("#rewards", OptionList)
        labels = [str(rewards.get_option_at_index(i).prompt) for i in range(rewards.option_count)]
        assert any("coffee" in x.lower() and x.endswith("— 0 points") for x in labels), labels
        assert "Offer: Coffee on us" in text_of(app, "#member")
