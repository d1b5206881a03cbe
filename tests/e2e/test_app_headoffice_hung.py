"""Head office stops answering (a real server behind a proxy that holds every answer): the
till's status turns offline while head office still hangs, F8's hold gives up in seconds with
a sentence in the till's language (never a raw code or tuple), and the sale can go on offline.
Timeouts come from the settings, here one second each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalty.till import Till
from sync.credentials import save_token
from sync.headoffice.serve import ServerThread
from sync.testing import Fault, FaultProxy
from terminal.app import messages as m
from terminal.app.wiring import build_services
from terminal.config import Config
from tests.e2e.test_app_headoffice import wait_for
from tests.printer_server import FakeNetworkPrinter
from tests.sync_fixtures import PROGRAM, Shop, headoffice
from tests.ui.conftest import CASHIERS, make_app
from tests.ui.test_flows import scan, settle, sign_in, type_in

HANG_S = 120.0  # far longer than any timeout: whatever the till reports, it reports during it


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


async def test_a_hung_head_office_turns_the_status_offline_and_f8_gives_up_with_a_sentence(
    chain: tuple[Shop, FaultProxy], tmp_path: Path
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
    printer = FakeNetworkPrinter()
    settings = {"headoffice_timeout_s": 1, "online_call_timeout_s": 1, "headoffice_connect_s": 1}
    config = Config(
        data_dir=data,
        printer=printer.url,
        printer_profile="TM-T20II",
        headoffice=proxy.url,
        raw={"cashiers": CASHIERS, **settings},
    )
    app = make_app(build_services(config), "en")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, m.SyncCompleted)
            assert app.online
            await sign_in(pilot)
            await scan(pilot, "400000000010")
            await settle(pilot)
            await type_in(pilot, "50.00")
            await type_in(pilot, "")
            await type_in(pilot, "1500", enter=False)  # over the offline allowance: F8 needed
            await settle(pilot)
            proxy.add(Fault("/", "stall", times=100, seconds=HANG_S))  # head office hangs
            await pilot.press("f5")
            await wait_for(pilot, m.DeviceStateChanged)
            await settle(pilot)
            assert not app.online  # said while head office still hangs
            await pilot.press("f8")
            (failed,) = await wait_for(pilot, m.AuthorisationFailed)
            assert failed.code == "timeout"
            await settle(pilot)
            toasts = [n.message for n in app._notifications]
            assert any("head office did not answer in time" in text for text in toasts), toasts
            assert not any("(" in text and "{" in text for text in toasts), toasts
            assert m.SaleCommitted not in {type(e) for e in app.seen}
    finally:
        printer.close()
