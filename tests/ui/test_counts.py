"""What the status line and the end-of-day screen count, at 80x24: "unsynced" is sales and
refunds (a sale that wrote an earn and a bonus entry is one), and a cashier's spend for the day
is net of the money refunded that day."""

from __future__ import annotations

from textual.widgets import DataTable

from terminal.app.screens.dialogs import ConfirmDialog
from terminal.app.services import TillServices
from tests.ui.conftest import make_app
from tests.ui.test_flows import settle, sign_in, text_of, type_in
from tests.ui.test_refund import open_refund, sell

SIZE = (80, 24)


async def test_unsynced_counts_sales_and_spend_is_net_of_refunds(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        first = await sell(pilot, "M000001", "10.00")
        await sell(pilot, "M000002", "10.00")  # Oak: earn and tier bonus, two entries
        assert services.till.outbox_size() == 3  # entries
        assert "unsynced: 2" in text_of(app, "#status-text")  # sales
        await open_refund(pilot, first)
        await type_in(pilot, "4.00")
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("enter")
        await settle(pilot)
        assert "unsynced: 3" in text_of(app, "#status-text")  # two sales and a refund
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        row = app.screen.query_one("#eod-table", DataTable).get_row_at(0)
        assert row[0] == "anna" and row[1] == "2" and row[2] == "1"
        assert row[5] == "€16.00"  # 10 + 10 sold, 4 refunded
