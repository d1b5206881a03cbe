"""Refund by picking from the receipt (80x24): the receipt's lines with what is left, a part
amount or whole lines picked, a confirmation with money and points before anything is written,
and the whole receipt only by its own key. The ledger afterwards holds exactly what was
confirmed."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from terminal.app import messages as m
from terminal.app.screens.dialogs import ConfirmDialog
from terminal.app.screens.refund import RefundScreen
from terminal.app.services import TillServices
from tests.ui.conftest import make_app
from tests.ui.test_flows import events, settle, sign_in, text_of, type_in

SIZE = (80, 24)


def one_line(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    return " ".join(text_of(app, selector).split())


async def sell(pilot: Pilot[None], member: str, total: str, lines: str = "") -> str:
    await type_in(pilot, member)
    await settle(pilot)
    await type_in(pilot, total)
    await type_in(pilot, lines, enter=False)
    await pilot.press("f10")
    await settle(pilot)
    app = pilot.app
    return events(app, m.SaleCommitted)[-1].result.receipt_no  # type: ignore[arg-type]


async def open_refund(pilot: Pilot[None], receipt_no: str) -> None:
    await pilot.press("f3")
    await pilot.pause()
    assert isinstance(pilot.app.screen, RefundScreen)
    await type_in(pilot, receipt_no)
    await settle(pilot)


def table_rows(app) -> list[list[str]]:  # type: ignore[no-untyped-def]
    table = app.screen.query_one("#refund-lines", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_a_part_amount_refunds_that_much_after_a_confirmation(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        receipt = await sell(pilot, "M000007", "40.00")  # James: 40 points, no promotion
        await open_refund(pilot, receipt)
        assert table_rows(app) == [["BASKET", "general", "€40.00", "€40.00", ""]]
        assert "left to refund: €40.00" in one_line(app, "#receipt-info")
        assert app.focused is app.screen.query_one("#amount", Input)
        await type_in(pilot, "5.00")  # the case: this once refunded all EUR 40
        assert table_rows(app)[0][4] == "€5.00"
        assert "To refund: €5.00" in one_line(app, "#picked")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Refund €5.00 of receipt " + receipt in one_line(app, "#question")
        assert "Points taken back: 5" in one_line(app, "#details")
        assert events(app, m.RefundCommitted) == []  # nothing written before the answer
        await pilot.press("enter")
        await settle(pilot)
        (refund,) = events(app, m.RefundCommitted)
        assert refund.result.amount_minor == 500 and refund.result.points_reversed == 5
        assert not refund.result.whole
        assert table_rows(app)[0][3] == "€35.00"  # what is left now


async def test_escape_at_the_confirmation_writes_nothing(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        receipt = await sell(pilot, "M000007", "15.00")
        before = services.till.outbox_size()
        await open_refund(pilot, receipt)
        await type_in(pilot, "3.00")
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RefundScreen)
        assert events(app, m.RefundCommitted) == []
        assert services.till.outbox_size() == before
        assert services.refundable(receipt).left_minor == 1500


async def test_lines_are_picked_whole_or_in_part_and_more_than_is_left_is_refused(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        receipt = await sell(pilot, "M000007", "", "fresh 10.00; cafe 5.00")
        await open_refund(pilot, receipt)
        assert [r[:4] for r in table_rows(app)] == [
            ["L1", "fresh", "€10.00", "€10.00"],
            ["L2", "cafe", "€5.00", "€5.00"],
        ]
        await type_in(pilot, "12.00")  # more than line 1 has
        assert "only €10.00 of L1 is left to refund" in one_line(app, "#message")
        amount = app.screen.query_one("#amount", Input)
        assert amount.value == "12.00"  # kept, to correct
        amount.value = ""
        await type_in(pilot, "400000000002")  # a card number where the amount goes
        assert "looks like a card number" in one_line(app, "#message")
        amount.value = ""
        await pilot.press("down")
        await type_in(pilot, "")  # Enter alone: all of line 2
        await pilot.press("up")
        await type_in(pilot, "2.50")
        assert [r[4] for r in table_rows(app)] == ["€2.50", "€5.00"]
        await pilot.press("f10")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        (refund,) = events(app, m.RefundCommitted)
        assert refund.result.amount_minor == 750
        left = {line.sku: line.left_minor for line in services.refundable(receipt).lines}
        assert left == {"L1": 750, "L2": 0}


async def test_f10_with_nothing_picked_says_how_and_the_whole_receipt_is_its_own_key(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        receipt = await sell(pilot, "M000007", "40.00")
        await open_refund(pilot, receipt)
        await pilot.press("f10")
        await settle(pilot)
        assert "Pick what to refund" in one_line(app, "#message")
        assert events(app, m.RefundCommitted) == []
        await pilot.press("f2")  # everything, asked for by its own key
        await pilot.press("f10")
        await settle(pilot)
        assert "Refund €40.00" in one_line(app, "#question")
        await pilot.press("enter")
        await settle(pilot)
        (refund,) = events(app, m.RefundCommitted)
        assert refund.result.whole and refund.result.points_reversed == 40
        assert "already refunded in full" in one_line(app, "#message")


async def test_an_unknown_receipt_and_a_blank_one_say_why(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pilot.press("f3")
        await pilot.pause()
        await type_in(pilot, "")
        assert "Type or scan the receipt number first" in one_line(app, "#message")
        await type_in(pilot, "NOPE-1")
        await settle(pilot)
        assert "no receipt NOPE-1" in one_line(app, "#message")
        await pilot.press("f10")
        assert "Type or scan the receipt number first" in one_line(app, "#message")
