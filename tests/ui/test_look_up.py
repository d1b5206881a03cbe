"""Who is at the till and who is served (80x24): cashier ids in any case sign in as the
configured cashier, and the ledger records the configured id."""

from __future__ import annotations

from textual.widgets import Input

from terminal.app import messages as m
from terminal.app.screens.idle import IdleScreen
from terminal.app.services import TillServices
from tests.ui.conftest import make_app
from tests.ui.test_flows import events, settle, sign_in, text_of, type_in

SIZE = (80, 24)


async def test_a_cashier_id_signs_in_whatever_its_case(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, "ANNA ", "1234")
        assert isinstance(app.screen, IdleScreen)
        assert app.cashier is not None and app.cashier.cashier_id == "anna"


async def test_a_wrong_pin_is_refused_in_any_case(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, "Anna", "0000")
        assert "Wrong cashier id or PIN" in text_of(app, "#message")
        assert app.cashier is None


async def test_a_manager_typed_in_capitals_is_recorded_by_the_configured_id(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, "Anna", "1234")
        await type_in(pilot, "M000002")  # Piotr, 5000 points; allowance offline is 1000
        await settle(pilot)
        await type_in(pilot, "50.00")
        await type_in(pilot, "")  # no lines
        await type_in(pilot, "1500", enter=False)
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("f7")
        await pilot.pause()
        await type_in(pilot, "MARIA")
        await type_in(pilot, "9999")
        await type_in(pilot, "regular customer")
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen), app.screen.query_one("#manager", Input)
        (committed,) = events(app, m.SaleCommitted)
        record = services.till.sale_record(committed.result.receipt_no)
        assert '"maria"' in str(record["override_json"])
        assert record["cashier_id"] == "anna"
