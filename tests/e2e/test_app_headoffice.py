"""The till app against a real head office on 127.0.0.1: it comes up online with head office's
members, a redemption over the offline limit is authorised online (held, then captured), and a
sync by hand leaves the till and head office agreeing on the balance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from loyalty.till import Till
from sync.credentials import save_token
from sync.headoffice.serve import ServerThread
from terminal.app import messages as m
from terminal.app.app import TillApp
from terminal.app.screens.idle import IdleScreen
from terminal.app.wiring import build_services
from terminal.config import Config
from tests.printer_server import FakeNetworkPrinter
from tests.sync_fixtures import PROGRAM, Shop, headoffice
from tests.ui.conftest import CASHIERS, make_app
from tests.ui.test_flows import events, scan, settle, sign_in, text_of, till_messages, type_in


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Shop]:
    ho = headoffice(str(tmp_path / "headoffice.sqlite"))
    server = ServerThread(ho)
    shop = Shop(ho, server.start(), tmp_path)
    yield shop
    shop.close()
    server.stop()
    ho.store.close()


async def wait_for(pilot: Pilot[None], kind: type, n: int = 1) -> list:  # type: ignore[type-arg]
    app: TillApp = pilot.app  # type: ignore[assignment]
    for _ in range(400):
        found = events(app, kind)
        if len(found) >= n:
            return found
        await pilot.pause(0.025)
    raise AssertionError(f"no {kind.__name__} came: {till_messages(app)}")


async def test_online_authorisation_and_a_sync_by_hand_agree_with_head_office(
    chain: Shop, tmp_path: Path
) -> None:
    # The web shop earned Piotr 3,000 points; head office knows him, the till not yet.
    chain.member("M000002", display_name="Piotr Nowak", language="pl", card_number="400000000010")
    web, web_client = chain.till("WEB-1")
    web.adjust("M000002", 3000, "web shop order W-77", "webshop")
    web_client.sync()

    data = tmp_path / "shop"
    till = Till.open(data, must_exist=False)
    till.initialise("ATH01-T1", PROGRAM, "fixtures/program.toml")
    till.close()
    save_token(data, chain.ho.register_till("ATH01-T1"))
    printer = FakeNetworkPrinter()
    config = Config(
        data_dir=data,
        printer=printer.url,
        printer_profile="TM-T20II",
        headoffice=chain.url,
        raw={"cashiers": CASHIERS},
    )
    services = build_services(config)
    app = make_app(services, "en")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, m.SyncCompleted)  # the start-up sync pulled the members
            assert app.online
            await sign_in(pilot)
            await scan(pilot, "400000000010")
            await settle(pilot)
            assert "Points available: 3,000" in text_of(app, "#member")
            await type_in(pilot, "50.00")
            await type_in(pilot, "")
            await type_in(pilot, "1500", enter=False)  # over the 1,000 offline allowance
            await settle(pilot)
            assert "offline limit" in text_of(app, "#message")
            await pilot.press("f8")  # hold the points at head office, then sell
            sale = (await wait_for(pilot, m.SaleCommitted))[0].result
            assert sale.mode == "online" and sale.pricing.redeemed_points == 1500
            await settle(pilot)
            assert isinstance(app.screen, IdleScreen)
            await pilot.press("f5")
            await wait_for(pilot, m.SyncCompleted, 2)
            await settle(pilot)
            assert app.unsynced == 0
            at_till = services.till.balance("M000002", dt.datetime.now(dt.UTC))
        state = chain.ho.member("M000002")
        assert state.balance + sum(points for points, _ in state.pending) == (
            at_till.available + at_till.pending
        )
        assert state.balance == 3000 - 1500
    finally:
        printer.close()
