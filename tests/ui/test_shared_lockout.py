"""One PIN lock-out for the whole till: the app counts wrong PINs in the till's SQLite
(``pin_failures``), like `till sale --override-manager`, so restarting the app does not clear a
lock-out, and wrong PINs at the command line and in the app add up. A manager's reset (F7,
recorded in ``lockout_resets``) clears the shared count for both. A real till file, the real
app (pilot) and real `till` processes."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from terminal.app.services import TillServices
from terminal.app.wiring import build_services
from terminal.auth import hash_pin
from terminal.config import Config
from tests.printer_server import FakeNetworkPrinter
from tests.security.test_cli_authority import REDEEM, refused, run
from tests.ui.conftest import CASHIERS, make_app, till_folder
from tests.ui.test_flows import settle, sign_in, text_of
from tests.ui.test_lockout_reset import manager, wrong_pin

SIZE = (80, 24)
NIKOS = {"name": "Nikos", "manager": True, "pin_hash": hash_pin("5555", b"0011223344556677")}
CONFIG = f"""
cashier = "anna"
pin_attempts = 3
[cashiers.anna]
name = "Anna"
pin_hash = "{CASHIERS["anna"]["pin_hash"]}"
[cashiers.maria]
name = "Maria"
manager = true
pin_hash = "{CASHIERS["maria"]["pin_hash"]}"
[cashiers.nikos]
name = "Nikos"
manager = true
pin_hash = "{NIKOS["pin_hash"]}"
"""


def services_on(data: Path, printer_url: str, clock: dt.datetime, attempts: int) -> TillServices:
    """The app's services on an existing till file (as a restart builds them)."""
    config = Config(
        data_dir=data,
        printer=printer_url,
        printer_profile="TM-T20II",
        raw={"cashiers": {**CASHIERS, "nikos": NIKOS}, "pin_attempts": attempts},
    )  # type: ignore[arg-type]
    return build_services(config, clock=lambda: clock)


def failures(data: Path) -> dict[str, int]:
    with sqlite3.connect(data / "till.sqlite") as conn:
        return dict(conn.execute("SELECT cashier_id, failures FROM pin_failures"))


async def test_a_lockout_outlives_a_restart_until_a_manager_clears_it(
    tmp_path: Path, printer_server: FakeNetworkPrinter
) -> None:
    data = till_folder(tmp_path)
    now = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
    app = make_app(services_on(data, printer_server.url, now, 2))
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, "anna", "0000")
        await wrong_pin(pilot)
        assert "Too many wrong PINs for anna" in text_of(app, "#message")

    # The app restarted (a careless cashier hopes to start afresh): still locked out.
    app = make_app(services_on(data, printer_server.url, now, 2))
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, "ANNA", "1234")  # her right PIN, however the id is typed
        assert app.cashier is None
        assert "Too many wrong PINs for anna" in text_of(app, "#message")
        await pilot.press("f7")
        await settle(pilot)
        await manager(pilot, "maria", "9999", "anna forgot her PIN")
        assert "PIN lock-out cleared" in text_of(app, "#message")
        assert failures(data)["anna"] == 0

    app = make_app(services_on(data, printer_server.url, now, 2))
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, "anna", "1234")
        assert app.cashier is not None and app.cashier.cashier_id == "anna"


async def test_the_command_line_and_the_app_count_wrong_pins_together(
    tmp_path: Path, printer_server: FakeNetworkPrinter
) -> None:
    data = till_folder(tmp_path)
    (data / "config.toml").write_text(CONFIG, encoding="utf-8")
    override = (*REDEEM, "--override-manager", "maria", "--override-reason", "x", "--preview")
    # Two wrong PINs at the command line, in their own processes...
    refused(run(data, *override, stdin="0000\n"), "PIN is wrong")
    refused(run(data, *override, stdin="0001\n"), "PIN is wrong")
    assert failures(data) == {"maria": 2}
    # ...and the third, in the app, locks maria out (pin_attempts = 3) for both.
    now = dt.datetime.now(dt.UTC)  # the `till` processes run on the machine's clock
    app = make_app(services_on(data, printer_server.url, now, 3))
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, "maria", "0002")
        assert "Too many wrong PINs for maria" in text_of(app, "#message")
        refused(run(data, *override, stdin="9999\n"), "too many wrong PINs for maria")

        # Another manager clears it in the app: the command line takes maria's PIN again.
        await pilot.press("f7")
        await settle(pilot)
        await manager(pilot, "nikos", "5555", "maria mistyped")
        assert "Cashier: Maria · manager: Nikos" in text_of(app, "#message")
        assert failures(data)["maria"] == 0
        again = run(data, *override, stdin="9999\n")
        assert "too many wrong PINs" not in again.stderr
        assert again.returncode == 0, again.stderr
