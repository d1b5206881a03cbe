"""The deny-list on every path to a member (issue 20, finding 5).

Head office deny-lists a member id or a card number (or blocks the member); the till's pull
stores it (``outbox.apply_page``, the pull's own code). From then on the member is refused with
``member_blocked`` however the cashier reaches them: their card scanned or typed (with spaces),
their member id, their phone number, ``till sale``, ``till balance`` and the app's look-up. A
refusal writes nothing; lifting the entry serves the member again.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalty import outbox
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest
from loyalty.till import Till
from terminal.app import messages as m
from terminal.app.screens.idle import IdleScreen
from terminal.app.screens.sale import SaleScreen
from terminal.app.services import TillServices
from terminal.scanning import scanner_for
from tests.printer_server import FakeNetworkPrinter
from tests.ui.conftest import make_app, make_services
from tests.ui.test_flows import SIZE, events, scan, settle, sign_in, text_of, type_in

ROOT = Path(__file__).resolve().parents[2]
TILL = str(Path(sys.executable).with_name("till"))

# fixtures/members.csv: M000001 (card 400000000002, +30 694 000 0001) is deny-listed by id,
# M000002 (card 400000000010, +48 600 000 002) by card number, M000004 is blocked by status.
DENIED = (("M000001", "chargeback"), ("400000000010", "card stolen"))
REFUSED_CODES = [
    "M000001",
    "400000000002",
    "4000 0000 0002",
    "+30 694 000 0001",
    "M000002",
    "400000000010",
    "4000-0000-0010",
    "+48 600 000 002",
    "M000004",
    "400000000036",
]


def till_run(data: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "TILL_LANGUAGE": "en", "HOME": str(data.parent)}
    return subprocess.run(
        [TILL, "--data-dir", str(data), *argv],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


def entries(data: Path) -> int:
    with sqlite3.connect(data / "till.sqlite") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0])


def init(data: Path) -> None:
    proc = till_run(
        data, "init", "--terminal-id", "ATH01-T1",
        "--program", str(ROOT / "fixtures" / "program.toml"),
        "--members", str(ROOT / "fixtures" / "members.csv"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A till set up by `till init`, then a pull that deny-lists an id and a card."""
    data = tmp_path_factory.mktemp("deny") / "data"
    init(data)
    till = Till.open(data)
    outbox.apply_page(till, outbox.ChangePage("c1", denied=DENIED))
    till.close()
    return data


@pytest.mark.parametrize("code", REFUSED_CODES)
def test_till_balance_refuses_a_denied_member_however_typed(data: Path, code: str) -> None:
    proc = till_run(data, "balance", code)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("till: member M00000") and "is blocked" in proc.stderr


@pytest.mark.parametrize("code", ["M000001", "4000 0000 0010", "+30 694 000 0001", "M000004"])
def test_till_sale_refuses_a_denied_member_and_writes_nothing(data: Path, code: str) -> None:
    before = entries(data)
    proc = till_run(data, "sale", "--member", code, "--total", "20.00")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "is blocked" in proc.stderr and proc.stderr.count("\n") == 1
    assert entries(data) == before


def test_a_member_not_denied_is_served_and_lifting_the_entry_serves_again(data: Path) -> None:
    proc = till_run(data, "sale", "--member", "4000 0000 0028", "--total", "20.00")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["points_earned"] > 0
    till = Till.open(data)
    outbox.apply_page(till, outbox.ChangePage("c2", undenied=("400000000010",)))
    till.close()
    proc = till_run(data, "balance", "4000 0000 0010")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["member_id"] == "M000002"
    till = Till.open(data)
    outbox.apply_page(till, outbox.ChangePage("c3", denied=(DENIED[1],)))
    till.close()


def test_a_sale_of_a_member_denied_since_can_still_be_refunded(tmp_path: Path) -> None:
    data = tmp_path / "data"
    init(data)
    proc = till_run(data, "sale", "--member", "M000003", "--total", "20.00")
    assert proc.returncode == 0, proc.stderr
    receipt = json.loads(proc.stdout)["receipt_no"]
    till = Till.open(data)
    outbox.apply_page(till, outbox.ChangePage("c1", denied=(("M000003", "fraud"),)))
    till.close()
    assert till_run(data, "balance", "M000003").returncode == 2
    proc = till_run(data, "refund", "--receipt", receipt)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["points_reversed"] > 0
    proc = till_run(data, "receipt", receipt)
    assert proc.returncode == 0, proc.stderr


# -- the app: typed and scanned -------------------------------------------------------------------
@pytest.fixture
def services(tmp_path: Path) -> Iterator[TillServices]:
    server = FakeNetworkPrinter()
    services = make_services(tmp_path, server.url)
    outbox.apply_page(services.till, outbox.ChangePage("c1", denied=DENIED))
    services.scanner = scanner_for(services.till, services.config)  # as at start, after a pull
    yield services
    server.close()


async def test_the_app_refuses_a_denied_member_typed_or_scanned(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        for code in ["M000001", "400000000002", "+30 694 000 0001", "4000 0000 0010"]:
            await type_in(pilot, code)
            await settle(pilot)
            assert isinstance(app.screen, IdleScreen), code
            message = text_of(app, "#message")  # the card number: the scanner's own refusal
            assert "is blocked" in message or "revoked" in message, code
        await scan(pilot, "400000000002")  # a wedge scan of the card
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen)
        assert "blocked" in text_of(app, "#message")
        await type_in(pilot, "400000000028")  # not denied: served
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen)


async def test_the_app_refunds_a_sale_of_a_member_denied_since(services: TillServices) -> None:
    sold = services.sell(SaleRequest("M000007", "anna", (BasketLine("BASKET", "general", 3000),)))
    outbox.apply_page(services.till, outbox.ChangePage("c2", denied=(("M000007", "fraud"),)))
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pilot.press("f3")
        await pilot.pause()
        await type_in(pilot, sold.receipt_no)
        await settle(pilot)
        await pilot.press("f2", "f10")  # the whole receipt, then confirm
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        (refund,) = events(app, m.RefundCommitted)
        assert refund.result.points_reversed == sold.points_earned > 0
