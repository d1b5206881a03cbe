"""With the printer bridge on, the member the cashier identifies on the till's own screen is
the one the POS's next receipt is for; a sale the till itself makes for them takes that back
(the POS's receipt must not earn a second time)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from terminal.pos.serve import start_if_configured, tap_the_app
from tests.ui.conftest import make_app, make_services
from tests.ui.test_flows import SIZE, scan, settle, sign_in, type_in

BRIDGE = {"enabled": True, "port": 0}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def test_a_member_scanned_at_the_till_waits_for_the_pos_receipt(tmp_path: Path) -> None:
    services = make_services(tmp_path, "dummy:", printer_bridge=BRIDGE)
    side = start_if_configured(
        services.till, services.config, services.scanner, services.printer, services.display
    )
    assert side is not None and side.bridge is not None
    tap_the_app(services, side)
    presence = side.bridge.service.presence
    try:
        app = make_app(services)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot)
            await scan(pilot, "M000001")
            await settle(pilot)
            assert presence.take(now()) == "M000001"
            assert presence.take(now()) is None  # once
            # Scanned again, then sold on the till itself: the POS's receipt is not theirs.
            await pilot.press("escape")
            await settle(pilot)
            await scan(pilot, "M000002")
            await settle(pilot)
            await type_in(pilot, "25.00", enter=False)
            await settle(pilot)
            await pilot.press("f10")
            await settle(pilot)
            await pilot.app.workers.wait_for_complete()
            sold = services.till.db.one("SELECT member_id FROM sales WHERE kind = 'sale'")
            assert sold is not None and sold["member_id"] == "M000002"
            assert presence.take(now()) is None
    finally:
        side.stop()
        services.close()
