"""Who is at the till and who is served (80x24): cashier ids in any case sign in as the
configured cashier, and the ledger records the configured id."""

from __future__ import annotations

from textual.widgets import Input, OptionList

from terminal.app import messages as m
from terminal.app.screens.find_member import SHOWN
from terminal.app.screens.idle import IdleScreen
from terminal.app.screens.sale import SaleScreen
from terminal.app.services import TillServices
from tests.ui.conftest import NOW, make_app
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


async def find(pilot, name: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+f")
    await pilot.pause()
    await type_in(pilot, name)
    await settle(pilot)


def found(app) -> list[str]:  # type: ignore[no-untyped-def]
    results = app.screen.query_one("#found", OptionList)
    return [str(results.get_option_at_index(i).prompt) for i in range(results.option_count)]


async def test_a_member_is_found_by_name_with_masked_details_and_served(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await find(pilot, "georg")
        assert found(app) == ["Eleni Georgiou · Olive · •••• 0002"]  # not the card, not the id
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)
        assert "Eleni Georgiou" in text_of(app, "#member")


async def test_a_name_is_found_in_any_case_and_without_accents(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await find(pilot, "ΝΙΚΟΣ παπα")
        assert [x.split(" · ")[0] for x in found(app)] == ["Νίκος Παπαδόπουλος"]


async def test_blocked_members_short_names_and_strangers_find_nothing(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await find(pilot, "blocked")
        assert found(app) == []
        assert "No member of that name" in text_of(app, "#message")
        app.screen.query_one("#name", Input).value = ""
        await type_in(pilot, "el")
        await settle(pilot)
        assert "Letters at least: 3" in text_of(app, "#message")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen)


def test_a_few_results_at_most(services: TillServices) -> None:
    """More matches than shown are cut at SHOWN + 1 (the dialog then asks for more letters)."""
    for i in range(8):
        services.till.enroll(f"Anna Test{i}", "anna", True, "en", None, None, NOW)
    assert len(services.find_by_name("anna", SHOWN)) == SHOWN + 1
