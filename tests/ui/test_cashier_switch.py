"""Till control at 80x24: sign out (to switch cashier) back to the sign-in screen, never with a
sale open; a manager's PIN on the lock screen signs the manager in (the sale then goes in the
manager's name, and the status line and a toast say so); five wrong PINs in a row lock that
cashier id out for five minutes on the till's clock, at sign-in, on the lock screen and in a
manager's override alike."""

from __future__ import annotations

import datetime as dt

from textual.widgets import Input

from terminal.app import messages as m
from terminal.app.screens.dialogs import OverrideDialog
from terminal.app.screens.idle import IdleScreen
from terminal.app.screens.lock import LockScreen
from terminal.app.screens.sale import SaleScreen
from terminal.app.screens.sign_in import SignInScreen
from terminal.app.services import TillServices
from tests.ui.conftest import NOW, make_app
from tests.ui.test_flows import events, settle, sign_in, text_of, type_in

SIZE = (80, 24)


def toasts(app: object) -> list[str]:
    return [n.message for n in app._notifications]  # type: ignore[attr-defined]


async def test_sign_out_goes_back_to_sign_in_and_another_cashier_signs_in(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        assert "cashier Anna" in text_of(app, "#status-text")
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen) and app.cashier is None
        assert len(app.screen_stack) == 2  # nothing of Anna's left under the sign-in screen
        assert "Signed out: Anna" in text_of(app, "#message")
        assert "cashier —" in text_of(app, "#status-text")
        assert app.screen.query_one("#cashier-id", Input).has_focus
        await sign_in(pilot, "maria", "9999")
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen)
        assert app.cashier is not None and app.cashier.cashier_id == "maria"
        assert "cashier Maria" in text_of(app, "#status-text")


async def test_sign_out_with_a_sale_open_is_refused_and_the_sale_kept(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await type_in(pilot, "M000007")
        await settle(pilot)
        await type_in(pilot, "20.00", enter=False)
        await pilot.press("ctrl+o")  # not a key of the sale screen
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)
        # Locked mid-sale: the lock screen's sign-out is refused, and says why.
        await pilot.press("ctrl+l")
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        assert app.cashier is not None and app.cashier.cashier_id == "anna"
        assert any("finish or cancel it before signing out" in x for x in toasts(app))
        await type_in(pilot, "1234")
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)
        assert app.screen.query_one("#total", Input).value == "20.00"


async def test_sign_out_from_the_lock_screen_lets_the_next_cashier_in(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pilot.press("f2")  # locked over the enrol screen: signing out leaves both
        await settle(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen) and app.cashier is None
        assert len(app.screen_stack) == 2


async def test_a_managers_unlock_signs_the_manager_in_and_the_sale_is_theirs(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await type_in(pilot, "M000007")
        await settle(pilot)
        await type_in(pilot, "20.00", enter=False)
        await pilot.press("ctrl+l")
        await settle(pilot)
        await type_in(pilot, "9999")  # Maria's PIN, not Anna's
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)  # the sale as it was
        assert app.screen.query_one("#total", Input).value == "20.00"
        assert app.cashier is not None and app.cashier.cashier_id == "maria"
        assert "cashier Maria" in text_of(app, "#status-text")
        assert any("Unlocked by Maria. Cashier now: Maria (before: Anna)" in x for x in toasts(app))
        await pilot.press("f10")
        await settle(pilot)
        (sale,) = events(app, m.SaleCommitted)
        assert services.till.sale_record(sale.result.receipt_no)["cashier_id"] == "maria"


async def test_the_cashiers_own_pin_unlocks_without_a_toast(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        await type_in(pilot, "1234")
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen)
        assert app.cashier is not None and app.cashier.cashier_id == "anna"
        assert not any("Unlocked by" in x for x in toasts(app))


async def test_five_wrong_pins_lock_the_id_out_until_the_clock_passes(
    services: TillServices,
) -> None:
    now = [NOW]
    services.clock = lambda: now[0]
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        for i in range(4):  # however the id is typed, it is anna's count
            await sign_in(pilot, "ANNA" if i % 2 else "anna", "0000")
            assert "Wrong cashier id or PIN" in text_of(app, "#message")
            app.screen.query_one("#cashier-id", Input).focus()
            app.screen.query_one("#cashier-id", Input).value = ""
        await sign_in(pilot, "anna", "0000")
        said = text_of(app, "#message")
        assert "Too many wrong PINs for anna: no sign-in until" in said
        tz = services.till.program.timezone
        assert app.t.datetime(NOW + dt.timedelta(minutes=5), tz) in said  # the shop's time
        # The right PIN is refused too while the lock-out lasts, and says so again.
        await type_in(pilot, "1234")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen) and app.cashier is None
        assert "Too many wrong PINs for anna" in text_of(app, "#message")
        now[0] = NOW + dt.timedelta(minutes=5)  # the till's clock, not the wall's
        await type_in(pilot, "1234")
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen) and app.cashier is not None


async def test_wrong_pins_on_the_lock_screen_lock_it_out_even_for_a_manager(
    services: TillServices,
) -> None:
    now = [NOW]
    services.clock = lambda: now[0]
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        for _ in range(5):
            await type_in(pilot, "1111")
            await settle(pilot)
        assert "Too many wrong PINs for anna" in text_of(app, "#message")
        await type_in(pilot, "9999")  # no PIN is tried while it lasts
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        now[0] = NOW + dt.timedelta(minutes=5, seconds=1)
        await type_in(pilot, "1234")
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen)


async def test_wrong_manager_pins_in_an_override_lock_the_manager_id_out(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await type_in(pilot, "M000007")
        await settle(pilot)
        await type_in(pilot, "20.00", enter=False)
        await pilot.press("ctrl+q")  # mid-sale: a manager must approve
        await settle(pilot)
        assert isinstance(app.screen, OverrideDialog)
        await type_in(pilot, "maria")
        for _ in range(5):
            app.screen.query_one("#pin", Input).focus()
            await type_in(pilot, "0000")
            await type_in(pilot, "x")
            await settle(pilot)
        assert "Too many wrong PINs for maria" in text_of(app, "#message")
        app.screen.query_one("#pin", Input).focus()
        await type_in(pilot, "9999")
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, OverrideDialog)
