"""What `till sync` prints, the app says too: entries head office holds without crediting them
(a toast with what to do when more are held, and a mark on the status line), and a till
restored from a backup (a toast, with the entries it lost). A failure is told once: a failed
F8 and the background sync that fails the same way behind it are one toast, not two, while
what the cashier asks for (F5) is always answered. A real head office on 127.0.0.1, the
till's SQLite edited as a dishonest till would, and a backup restored as the README says."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.notifications import Notify
from textual.pilot import Pilot

from loyalty.till import Till
from sync.client import SyncClient
from sync.credentials import load_token, save_token
from sync.headoffice.serve import ServerThread
from sync.testing import Fault, FaultProxy
from terminal.app import messages as m
from terminal.app.app import TillApp
from terminal.app.wiring import build_services
from terminal.config import Config
from tests.e2e.test_app_headoffice import wait_for
from tests.integration.test_sync_poison import _forge
from tests.printer_server import FakeNetworkPrinter
from tests.sync_fixtures import PROGRAM, Shop, buy, headoffice
from tests.till_processes import data_dir
from tests.ui.conftest import CASHIERS, RecordingApp, make_app
from tests.ui.test_flows import events, scan, settle, sign_in, text_of, type_in

HANG_S = 120.0


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[tuple[Shop, FaultProxy]]:
    ho = headoffice(str(tmp_path / "headoffice.sqlite"))
    server = ServerThread(ho)
    shop = Shop(ho, server.start(), tmp_path)
    proxy = FaultProxy("127.0.0.1", server.port)
    yield shop, proxy
    proxy.close()
    shop.close()
    server.stop()
    ho.store.close()


@pytest.fixture
def printer() -> Iterator[FakeNetworkPrinter]:
    server = FakeNetworkPrinter()
    yield server
    server.close()


def app_for(folder: Path, url: str, printer: FakeNetworkPrinter) -> RecordingApp:
    settings = {"headoffice_timeout_s": 1, "online_call_timeout_s": 1, "headoffice_connect_s": 1}
    config = Config(
        data_dir=folder,
        printer=printer.url,
        printer_profile="TM-T20II",
        headoffice=url,
        raw={"cashiers": CASHIERS, **settings},
    )
    return make_app(build_services(config), "en")


def toasts(app: TillApp) -> list[str]:
    """Every toast shown since the app started, also those that have timed out since."""
    return [str(e.notification.message) for e in events(app, Notify)]


async def wait_long(pilot: Pilot[None], kind: type, n: int = 1) -> list:  # type: ignore[type-arg]
    """A background sync against a hung head office retries with backoff before it fails."""
    for _ in range(6):
        with contextlib.suppress(AssertionError):
            return await wait_for(pilot, kind, n)
    return await wait_for(pilot, kind, n)


async def sync_by_hand(pilot: Pilot[None], n: int) -> None:
    await pilot.press("f5")
    await wait_for(pilot, m.SyncCompleted, n)
    await settle(pilot)


async def test_held_entries_are_told_once_and_stay_on_the_status_line(
    chain: tuple[Shop, FaultProxy], tmp_path: Path, printer: FakeNetworkPrinter
) -> None:
    shop, _ = chain
    folder, db = data_dir(shop)
    forged = _forge(db, 4_006_381_333_931_00)  # beyond the protocol's bound: held, not credited
    app = app_for(folder, shop.url, printer)
    async with app.run_test(size=(120, 36)) as pilot:
        (done,) = await wait_for(pilot, m.SyncCompleted)
        assert (done.held, done.restored) == (1, False)
        await sign_in(pilot)
        await settle(pilot)
        told = [t for t in toasts(app) if t.startswith("Entries held by head office: 1.")]
        assert len(told) == 1, toasts(app)
        assert "tell the manager" in told[0]
        assert "held by head office: 1" in text_of(app, "#status-text")
        await sync_by_hand(pilot, 2)  # nothing new held: not told again, still on the line
        assert len([t for t in toasts(app) if t.startswith("Entries held")]) == 1
        assert "held by head office: 1" in text_of(app, "#status-text")
    with shop.ho.store.transaction() as tx:
        assert tx.all("SELECT entry_id FROM held_entries") == [(forged,)]


def _backup(db: Path, copy: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(db)) as src,
        contextlib.closing(sqlite3.connect(copy)) as dst,
    ):
        src.backup(dst)


async def test_a_till_restored_from_a_backup_is_told_with_what_it_lost(
    chain: tuple[Shop, FaultProxy], tmp_path: Path, printer: FakeNetworkPrinter
) -> None:
    shop, _ = chain
    folder, db = data_dir(shop)
    till = Till.open(folder)
    with SyncClient(till, shop.url, load_token(folder) or "") as client:
        buy(till, "M1")
        client.sync()
        _backup(db, tmp_path / "copy.sqlite")
        buy(till, "M1")
        buy(till, "M1")  # sold and synced after the backup: lost with the restore
        client.sync()
    till.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(tmp_path / "copy.sqlite", db)
    till = Till.open(folder)
    buy(till, "M1")  # its seq is a lost sale's seq
    till.close()

    app = app_for(folder, shop.url, printer)
    async with app.run_test(size=(120, 36)) as pilot:
        (done,) = await wait_for(pilot, m.SyncCompleted)
        assert done.restored and done.lost == 2
        await settle(pilot)
        told = [t for t in toasts(app) if "restored from a backup" in t]
        assert len(told) == 1, toasts(app)
        assert told[0].endswith("Entries head office holds that this till lost: 2")
        assert app.unsynced == 0


async def test_a_failure_already_told_is_not_shown_again_but_f5_is_always_answered(
    chain: tuple[Shop, FaultProxy], tmp_path: Path, printer: FakeNetworkPrinter
) -> None:
    shop, proxy = chain
    shop.member("M000002", display_name="Piotr Nowak", language="pl", card_number="400000000010")
    web, web_client = shop.till("WEB-1")
    web.adjust("M000002", 3000, "web shop order W-77", "webshop")
    web_client.sync()
    data = tmp_path / "shop"
    till = Till.open(data, must_exist=False)
    till.initialise("ATH01-T1", PROGRAM, "fixtures/program.toml")
    till.close()
    save_token(data, shop.ho.register_till("ATH01-T1"))
    app = app_for(data, proxy.url, printer)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, m.SyncCompleted)
        await sign_in(pilot)
        await scan(pilot, "400000000010")
        await settle(pilot)
        await type_in(pilot, "50.00")
        await type_in(pilot, "")
        await type_in(pilot, "1500", enter=False)  # over the offline allowance: F8 needed
        await settle(pilot)
        proxy.add(Fault("/", "stall", times=100, seconds=HANG_S))  # head office hangs
        await pilot.press("f8")
        (failed,) = await wait_for(pilot, m.AuthorisationFailed)
        assert failed.code == "timeout"
        await settle(pilot)
        late = "head office did not answer in time"
        assert toasts(app) == [
            f"Head office did not approve the points: {late}; the sales are kept and will be "
            "sent later"
        ]
        # The sync behind it (a sale, a reconnect) fails the same way: nothing new to say.
        assert app.services.sync is not None
        app.services.sync.sale_committed()
        (background,) = await wait_long(pilot, m.SyncFailed)
        assert (background.reason, background.asked) == ("timeout", False)
        await settle(pilot)
        assert len(toasts(app)) == 1, toasts(app)
        assert not app.online
        # The cashier asks (F5): always answered, and the reason is said once.
        await pilot.press("f5")
        await wait_long(pilot, m.SyncFailed, 2)
        await settle(pilot)
        asked = toasts(app)[1:]
        assert asked == [f"Sync failed: {late}; the sales are kept and will be sent later"]
        assert all(t.count("will be sent later") == 1 for t in toasts(app))
