"""A manager clears a cashier's PIN lock-out (F7) at sign-in or on the lock screen, with their
own id, PIN and a reason; the till records who cleared whose lock-out, when and why, in its
SQLite, append-only. The lock-out is cleared, not switched off: a careless cashier who types
the wrong PIN twice more is locked out again. A cashier cannot clear their own (nor can a
locked-out manager). At 80x24, two wrong PINs lock an id out (``pin_attempts = 2``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from loyalty.till_records import LockoutReset, lockout_resets
from terminal.app.screens.dialogs import OverrideDialog
from terminal.app.screens.idle import IdleScreen
from terminal.app.screens.lock import LockScreen
from terminal.app.screens.sign_in import SignInScreen
from terminal.app.services import TillServices
from tests.printer_server import FakeNetworkPrinter
from tests.ui.conftest import NOW, make_app, make_services
from tests.ui.test_flows import settle, sign_in, text_of, type_in

SIZE = (80, 24)


@pytest.fixture
def careful(tmp_path: object, printer_server: FakeNetworkPrinter) -> Iterator[TillServices]:
    yield make_services(tmp_path, printer_server.url, pin_attempts=2)  # type: ignore[arg-type]


async def wrong_pin(pilot: Pilot[None]) -> None:
    pilot.app.screen.query_one("#pin", Input).focus()
    await type_in(pilot, "0000")
    await settle(pilot)


async def manager(pilot: Pilot[None], who: str, pin: str, reason: str) -> None:
    """Fill the override dialog F7 opened."""
    screen = pilot.app.screen
    assert isinstance(screen, OverrideDialog)
    for name in ("manager", "pin", "reason"):
        screen.query_one(f"#{name}", Input).value = ""
    screen.query_one("#manager", Input).focus()
    await type_in(pilot, who)
    await type_in(pilot, pin)
    await type_in(pilot, reason)
    await settle(pilot)


def resets(services: TillServices) -> list[LockoutReset]:
    with services.till.db.read() as conn:
        return lockout_resets(conn)


async def test_a_manager_clears_a_lockout_at_sign_in_and_it_is_recorded(
    careful: TillServices,
) -> None:
    app = make_app(careful)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, "anna", "0000")
        await wrong_pin(pilot)  # a careless cashier: the wrong PIN, twice
        assert "Too many wrong PINs for anna" in text_of(app, "#message")
        await pilot.press("f7")
        await settle(pilot)
        await manager(pilot, "anna", "1234", "I forgot")  # her own: locked, and no manager
        assert isinstance(app.screen, OverrideDialog)
        assert "Too many wrong PINs for anna" in text_of(app, "#message")
        await manager(pilot, "maria", "9999", "forgot her PIN")
        assert isinstance(app.screen, SignInScreen)
        said = text_of(app, "#message")
        assert "PIN lock-out cleared. Cashier: Anna · manager: Maria" in said
        assert resets(careful) == [LockoutReset(NOW, "anna", "maria", "forgot her PIN")]

        # Cleared, not switched off: two more wrong PINs lock her out again.
        await wrong_pin(pilot)
        assert "Wrong cashier id or PIN" in text_of(app, "#message")
        await wrong_pin(pilot)
        assert "Too many wrong PINs for anna" in text_of(app, "#message")
        await pilot.press("f7")
        await settle(pilot)
        await manager(pilot, "maria", "9999", "again")
        app.screen.query_one("#pin", Input).focus()
        await type_in(pilot, "1234")
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen) and app.cashier is not None
        assert [(r.cashier_id, r.reason) for r in resets(careful)] == [
            ("anna", "forgot her PIN"),
            ("anna", "again"),
        ]
        # The record stays as written: a cashier with the till's file cannot rewrite it.
        refused = pytest.raises(sqlite3.DatabaseError, match="append-only")
        with refused, careful.till.db.write() as conn:
            conn.execute("UPDATE lockout_resets SET manager_id = 'anna'")


async def test_an_id_that_is_not_locked_out_has_nothing_to_clear(careful: TillServices) -> None:
    app = make_app(careful)
    async with app.run_test(size=SIZE) as pilot:
        await type_in(pilot, "maria")
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)  # no dialog
        assert "maria is not locked out" in text_of(app, "#message")
        assert resets(careful) == []


async def test_a_manager_clears_the_lock_screens_lockout_and_the_cashier_carries_on(
    careful: TillServices,
) -> None:
    app = make_app(careful)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        await wrong_pin(pilot)
        await wrong_pin(pilot)
        assert "Too many wrong PINs for anna" in text_of(app, "#message")
        await pilot.press("f7")
        await settle(pilot)
        await manager(pilot, "maria", "1111", "x")  # the manager mistypes: not cleared
        assert isinstance(app.screen, OverrideDialog)
        await manager(pilot, "maria", "9999", "anna mistyped")
        assert isinstance(app.screen, LockScreen)
        assert "Cashier: Anna · manager: Maria" in text_of(app, "#message")
        await type_in(pilot, "1234")
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen)
        assert app.cashier is not None and app.cashier.cashier_id == "anna"  # still Anna's till
        assert resets(careful) == [LockoutReset(NOW, "anna", "maria", "anna mistyped")]
