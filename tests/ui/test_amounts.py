"""Amounts that cannot surprise: on an 80x24 screen, a card number in the total, a negative or
an absurd amount, a blank total and lines that disagree with the total each say why and sell
nothing; a large total asks before it sells."""

from __future__ import annotations

import pytest

from terminal.app import messages as m
from terminal.app.screens.dialogs import ConfirmDialog
from terminal.app.screens.idle import IdleScreen
from terminal.app.screens.sale import SaleScreen
from terminal.app.services import TillServices
from tests.ui.conftest import make_app
from tests.ui.test_flows import events, settle, sign_in, text_of, type_in

SIZE = (80, 24)


async def open_sale(pilot, member: str = "M000007") -> None:  # type: ignore[no-untyped-def]
    await sign_in(pilot)
    await type_in(pilot, member)  # James: no promotion today
    await settle(pilot)
    assert isinstance(pilot.app.screen, SaleScreen)


def one_line(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    return " ".join(text_of(app, selector).split())


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("4000 0000 0002", "'4000 0000 0002' looks like a card number or a barcode"),
        ("400000000002", "'400000000002' looks like a card number or a barcode"),
        ("40063813339310000", "looks like a card number or a barcode"),
        ("-5", "-€5.00 is below zero"),
        (
            "200000",
            "total €200,000.00 is larger than the largest sale this shop allows (€100,000.00)",
        ),
        ("12.345", "'12.345' has too many decimals (maximum: 2)"),
        ("12,50 EUR", "'12,50 EUR' is not an amount"),
    ],
)
async def test_a_total_that_is_not_a_sale_says_why_and_sells_nothing(
    services: TillServices, typed: str, said: str
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await open_sale(pilot)
        await type_in(pilot, typed, enter=False)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)
        message = one_line(app, "#message")
        assert said in message
        assert "500" not in message.replace("€5.00", "")  # money, never minor units
        assert events(app, m.SaleCommitted) == []
        assert services.till.outbox_size() == 0


async def test_f10_on_a_blank_total_says_the_basket_is_empty(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await open_sale(pilot)
        assert one_line(app, "#message") == ""  # nothing typed yet: nothing wrong yet
        await pilot.press("f10")
        await settle(pilot)
        assert "the basket is empty: enter a total or at least one line" in one_line(
            app, "#message"
        )
        assert events(app, m.SaleCommitted) == []


async def test_lines_that_disagree_with_the_total_are_shown_in_money(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await open_sale(pilot)
        await type_in(pilot, "5.00")
        await type_in(pilot, "fresh 1.00; cafe 2.00", enter=False)
        await pilot.press("f10")
        await settle(pilot)
        message = one_line(app, "#message")
        assert "the lines add up to €3.00, not €5.00" in message
        assert "…" not in message
        assert events(app, m.SaleCommitted) == []


async def test_points_that_are_not_a_number_say_so(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await open_sale(pilot)
        await type_in(pilot, "20.00")
        await type_in(pilot, "")
        await type_in(pilot, "-", enter=False)
        await pilot.press("f10")
        await settle(pilot)
        assert "'-' is not a number of points" in one_line(app, "#message")
        assert events(app, m.SaleCommitted) == []


async def test_a_large_total_is_confirmed_before_it_sells(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await open_sale(pilot)
        await type_in(pilot, "750.00", enter=False)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Sell for €750.00? Member: James" in one_line(app, "#question")
        await pilot.press("escape")  # back: the amount was a typo
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen) and events(app, m.SaleCommitted) == []
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen)
        (sale,) = events(app, m.SaleCommitted)
        assert sale.result.pricing.paid_minor == 75000


async def test_a_total_under_the_threshold_sells_without_a_question(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await open_sale(pilot)
        await type_in(pilot, "500.00", enter=False)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen)
        assert len(events(app, m.SaleCommitted)) == 1
