"""F9 mid-flow (80x24): the screen speaks the next language and keeps everything else: the
member and basket of an open sale (F10 then sells what is on screen), what was typed in sign-in
and lock, the picks of a refund, the last sale's line, and the focus."""

from __future__ import annotations

from textual.widgets import Input

from terminal.app import messages as m
from terminal.app.screens.idle import IdleScreen
from terminal.app.screens.lock import LockScreen
from terminal.app.screens.sale import SaleScreen
from terminal.app.services import TillServices
from tests.ui.conftest import make_app
from tests.ui.test_flows import events, settle, sign_in, text_of, type_in
from tests.ui.test_refund import open_refund, sell, table_rows

SIZE = (80, 24)


def one_line(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    return " ".join(text_of(app, selector).split())


async def f9(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("f9")
    await settle(pilot)


async def test_f9_mid_sale_keeps_the_member_the_basket_and_the_focus(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await type_in(pilot, "M000007")  # James
        await settle(pilot)
        await type_in(pilot, "20.00")  # focus moves on to the lines
        await settle(pilot)
        assert "To pay: €20.00" in one_line(app, "#preview")
        await f9(pilot)  # en -> el
        assert app.language == "el" and isinstance(app.screen, SaleScreen)
        assert "James" in one_line(app, "#member")
        assert app.screen.query_one("#total", Input).value == "20.00"
        assert app.focused is app.screen.query_one("#lines", Input)
        assert "Πληρωτέο" in one_line(app, "#preview")  # the preview, said again in Greek
        await pilot.press("f10")
        await settle(pilot)
        (sale,) = events(app, m.SaleCommitted)
        assert sale.result.pricing.paid_minor == 2000
        assert services.till.sale_record(sale.result.receipt_no)["member_id"] == "M000007"
        assert isinstance(app.screen, IdleScreen)
        await f9(pilot)  # el -> pl: the last sale's line follows
        assert sale.result.receipt_no in one_line(app, "#last")
        assert "Receipt" not in one_line(app, "#last")


async def test_f9_at_sign_in_and_lock_keeps_what_was_typed_and_where(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await type_in(pilot, "anna", enter=False)
        await f9(pilot)
        assert app.screen.query_one("#cashier-id", Input).value == "anna"
        assert app.focused is app.screen.query_one("#cashier-id", Input)
        await pilot.press("enter")
        await type_in(pilot, "12", enter=False)
        await f9(pilot)  # mid-PIN
        await type_in(pilot, "34")
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen) and app.cashier is not None
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        await f9(pilot)
        await type_in(pilot, "1234")  # the PIN field still has the focus
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen)


async def test_f9_mid_refund_keeps_the_receipt_and_the_picks(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        receipt = await sell(pilot, "M000007", "", "fresh 10.00; cafe 5.00")
        await open_refund(pilot, receipt)
        await type_in(pilot, "4.00")
        await f9(pilot)
        assert app.screen.query_one("#receipt", Input).value == receipt
        assert [r[4] for r in table_rows(app)] == ["4,00\u00a0€", ""]  # Greek money
        assert "Επιστροφή" in str(app.screen.query_one("#refund-lines").ordered_columns[4].label)
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        (refund,) = events(app, m.RefundCommitted)
        assert refund.result.amount_minor == 400
