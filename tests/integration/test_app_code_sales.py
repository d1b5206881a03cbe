"""An app code is spent in the sale's own transaction, wherever the sale is made: `till sale
--member CODE` checks the code like the app's scan and records it with the sale, so a second
`till sale` with the same code is refused with a clear line and writes nothing, and the app and
the command line agree on which codes are spent. Two sales that both passed the scan before
either committed (two processes) cannot both use the code: the second is refused in its own
transaction. Real till files, real `till` processes, the real app (pilot)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalty import sales
from loyalty.errors import Refused
from loyalty.rules import BasketLine
from loyalty.till import Till
from loyalty.till_records import AppCode
from scanner.codes import mint_app_code
from scanner.keys import load_private_key
from terminal.app import messages as m
from terminal.app.screens.idle import IdleScreen
from terminal.app.screens.sale import SaleScreen
from terminal.app.services import TillServices
from terminal.app.wiring import build_services
from terminal.config import Config
from terminal.scanning import scanner_for
from tests.printer_server import FakeNetworkPrinter
from tests.security.test_cli_authority import CONFIG, ledger_size, refused, run
from tests.ui.conftest import CASHIERS, ROOT, make_app, till_folder
from tests.ui.test_flows import events, scan, settle, sign_in, type_in

KEY = load_private_key(ROOT / "fixtures" / "keys" / "test-2026.TEST-ONLY-private.pem")
SPENT = "already been used"


def code(nonce: int, now: dt.datetime) -> str:
    start = now - dt.timedelta(minutes=1)
    return mint_app_code(KEY, "test-2026", "M000005", start, 600, nonce.to_bytes(4, "big"))


def spent(data: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(data / "till.sqlite") as conn:
        return list(conn.execute("SELECT member_id, receipt_no FROM spent_app_codes"))


def sell(data: Path, member: str) -> tuple[int, str, str]:
    proc = run(data, "sale", "--member", member, "--total", "5.00")
    return proc.returncode, proc.stdout, proc.stderr


def services_on(data: Path, printer_url: str, now: dt.datetime) -> TillServices:
    config = Config(
        data_dir=data, printer=printer_url, printer_profile="TM-T20II", raw={"cashiers": CASHIERS}
    )
    return build_services(config, clock=lambda: now)


@pytest.fixture
def printer() -> Iterator[FakeNetworkPrinter]:
    server = FakeNetworkPrinter()
    yield server
    server.close()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = till_folder(tmp_path)
    (folder / "config.toml").write_text(CONFIG, encoding="utf-8")
    return folder


def test_a_second_till_sale_with_the_same_app_code_is_refused(data: Path) -> None:
    shown = code(1, dt.datetime.now(dt.UTC))
    rc, out, err = sell(data, shown)
    assert rc == 0, err
    assert '"member_id": "M000005"' in out
    assert [member for member, _receipt in spent(data)] == ["M000005"]
    before = ledger_size(data)
    refused(run(data, "sale", "--member", shown, "--total", "7.00"), SPENT)
    assert ledger_size(data) == before and len(spent(data)) == 1
    # The member's other codes, and their card number, still sell.
    assert sell(data, code(2, dt.datetime.now(dt.UTC)))[0] == 0
    assert sell(data, "M000005")[0] == 0
    assert len(spent(data)) == 2
    # A forged code is refused as one, not looked up as a member id.
    refused(run(data, "sale", "--member", shown[:-3] + "AAA", "--total", "5.00"), "genuine")


def test_two_sales_that_both_passed_the_scan_cannot_both_spend_the_code(data: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    till = Till.open(data)
    try:
        use = scanner_for(till, Config(data_dir=data)).app_code(code(3, now), now)
        assert use is not None
        app_code = use.for_sale("M000005")
        assert app_code == AppCode(use.code_id, use.valid_until)
        lines = (BasketLine("SKU", "grocery", 500),)
        req = sales.SaleRequest("M000005", "anna", lines, app_code=app_code)
        first = sales.sale(till, req, now)
        entries = ledger_size(data)
        with pytest.raises(Refused) as refusal:
            sales.sale(till, req, now)  # the other process's sale, scanned before the first
        assert refusal.value.code == "app_code_spent"
        assert ledger_size(data) == entries  # nothing of the second sale was written
        assert spent(data) == [("M000005", first.receipt_no)]
        assert use.for_sale("M000001") is None  # another member's sale does not spend it
    finally:
        till.close()


async def test_the_app_and_the_command_line_agree_on_spent_codes(
    data: Path, printer: FakeNetworkPrinter
) -> None:
    now = dt.datetime.now(dt.UTC)  # the `till` processes run on the machine's clock
    by_app, by_cli = code(4, now), code(5, now)
    app = make_app(services_on(data, printer.url, now))
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await scan(pilot, by_app)
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)
        await type_in(pilot, "5.00", enter=False)
        await pilot.press("f10")
        await settle(pilot)
        assert events(app, m.SaleCommitted)
        refused(run(data, "sale", "--member", by_app, "--total", "5.00"), SPENT)

        assert sell(data, by_cli)[0] == 0  # spent at the command line...
        await scan(pilot, by_cli)  # ...and refused by the app
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen)
        assert [e.reason for e in events(app, m.LookupFailed)] == ["replay"]
    assert len(spent(data)) == 2
