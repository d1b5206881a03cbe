"""Till control: a [keys] table that names a binding the till does not have is reported at
start (it would otherwise be silently ignored), while the ids it does have still work; Ctrl+Q
asks before quitting, and with a sale open it needs a manager."""

from __future__ import annotations

from textual.widgets import Input, Static

from terminal.app.screens.dialogs import ConfirmDialog, OverrideDialog
from terminal.app.screens.enrol import EnrolScreen
from terminal.app.screens.idle import IdleScreen
from terminal.app.screens.sale import SaleScreen
from terminal.app.services import TillServices
from tests.ui.conftest import make_app
from tests.ui.test_flows import settle, sign_in, type_in


async def test_an_unknown_binding_id_is_reported_at_start(services: TillServices) -> None:
    app = make_app(services, keymap={"idle.enroll": "f11", "idle.enrol": "f12"})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        toasts = [n.message for n in app._notifications]
        assert any("names bindings the till does not have: idle.enroll" in x for x in toasts)
        assert not any("idle.enrol " in x or "idle.enrol," in x for x in toasts)
        await sign_in(pilot)
        await pilot.press("f12")  # the id it knows is remapped all the same
        await settle(pilot)
        assert isinstance(app.screen, EnrolScreen)


async def test_a_keymap_of_known_ids_reports_nothing(services: TillServices) -> None:
    app = make_app(services, keymap={"sale.confirm": "f11", "refund.everything": "f8"})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not [n for n in app._notifications if "bindings" in n.message]


async def test_ctrl_q_asks_first_and_esc_keeps_the_till_running(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Quit the till?" in str(app.screen.query_one("#question", Static).render())
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen) and app.is_running
        await pilot.press("ctrl+q")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.return_code == 0  # quit, as asked


async def test_ctrl_q_mid_sale_needs_a_manager(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await type_in(pilot, "M000007")
        await settle(pilot)
        await type_in(pilot, "20.00", enter=False)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, OverrideDialog)
        await pilot.press("escape")  # no manager: the sale stays open
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen) and app.is_running
        assert app.screen.query_one("#total", Input).value == "20.00"
        await pilot.press("ctrl+q")
        await settle(pilot)
        await type_in(pilot, "maria")
        await type_in(pilot, "9999")
        await type_in(pilot, "end of shift, shopper left")
        await settle(pilot)
        assert app.return_code == 0
