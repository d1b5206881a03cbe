"""An app code is spent by the sale it opened, and by no other: a code the shopper showed
first (then Esc) stays good, and the spent one is refused as already used, also after the till
app restarts on the same till file (the spent codes are in its SQLite, not only in memory)."""

from __future__ import annotations

import datetime as dt

from scanner.codes import mint_app_code
from scanner.keys import load_private_key
from terminal.app import messages as m
from terminal.app.screens.idle import IdleScreen
from terminal.app.screens.sale import SaleScreen
from terminal.app.wiring import build_services
from tests.printer_server import FakeNetworkPrinter
from tests.ui.conftest import NOW, ROOT, make_app, make_services
from tests.ui.test_flows import events, scan, settle, sign_in, text_of, type_in

SIZE = (80, 24)
KEY = load_private_key(ROOT / "fixtures" / "keys" / "test-2026.TEST-ONLY-private.pem")


def code(nonce: int) -> str:
    return mint_app_code(
        KEY, "test-2026", "M000005", NOW - dt.timedelta(minutes=1), 300, nonce.to_bytes(4, "big")
    )


async def test_the_sale_spends_its_own_code_and_a_restart_still_refuses_it(
    tmp_path: object, printer_server: FakeNetworkPrinter
) -> None:
    first, second = code(1), code(2)
    services = make_services(tmp_path, printer_server.url)  # type: ignore[arg-type]
    config = services.config
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await scan(pilot, first)  # the shopper shows a code, the cashier presses Esc
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen) and "Somsak" in text_of(app, "#member")
        await pilot.press("escape")
        await settle(pilot)
        await scan(pilot, second)  # a fresh code on the phone: this one makes the sale
        await settle(pilot)
        await type_in(pilot, "5.00", enter=False)
        await pilot.press("f10")
        await settle(pilot)
        assert events(app, m.SaleCommitted)
        await scan(pilot, first)  # not the sale's code: still good for the next sale
        await settle(pilot)
        assert isinstance(app.screen, SaleScreen) and "Somsak" in text_of(app, "#member")
        await pilot.press("escape")
        await settle(pilot)
        await scan(pilot, second)
        await settle(pilot)
        assert isinstance(app.screen, IdleScreen)
        assert [e.reason for e in events(app, m.LookupFailed)] == ["replay"]

    # The till app restarts on the same file: the spent code is still spent.
    again = make_app(build_services(config, clock=lambda: NOW + dt.timedelta(minutes=1)))
    async with again.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await scan(pilot, second)
        await settle(pilot)
        assert isinstance(again.screen, IdleScreen)
        assert [e.reason for e in events(again, m.LookupFailed)] == ["replay"]
        assert text_of(again, "#message")  # said to the cashier, in words
        await scan(pilot, first)
        await settle(pilot)
        assert isinstance(again.screen, SaleScreen)
