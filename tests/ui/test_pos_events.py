"""The cashier's screen shows what the shop's POS did through the till API: the real app (Textual
pilot) beside the real API (uvicorn on 127.0.0.1, as ``till run`` starts it), called over HTTP.
The member the POS identified shows on the idle screen with a toast; its sale (with a reward)
as the last sale and in the unsynced count; a sale the till had open for that member is closed
(keyed again it would earn twice); a refund and a retried sale are told once."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import httpx
from textual.pilot import Pilot

from printer._escpos import escpos, quiet
from terminal.app.app import TillApp
from terminal.pos.serve import start_if_configured, tap_the_app
from terminal.pos.token import token_path
from tests.ui.conftest import ROOT, make_app, make_services
from tests.ui.test_flows import SIZE, scan, settle, sign_in, text_of

API = {"enabled": True, "port": 0}


def pos_receipt(lines: list[str]) -> bytes:
    """A receipt as a POS builds it with python-escpos, ending in its cut."""
    with quiet(capture_stdout=True):
        dummy = escpos("escpos.printer").Dummy(profile="TM-T88V")
        for line in lines:
            dummy.text(line + "\n")
        dummy.cut()
        return bytes(dummy.output)


def toasts(app: TillApp) -> list[str]:
    return [n.message for n in app._notifications]


async def until(pilot: Pilot[None], done: object) -> None:
    """Let the app handle what the API's thread posted (a few turns of its loop)."""
    for _ in range(50):
        await settle(pilot)
        if callable(done) and done():
            return


async def test_what_the_pos_does_shows_on_the_cashiers_screen(tmp_path: Path) -> None:
    services = make_services(tmp_path, "dummy:", pos_api=API)
    # The API runs on the real clock: members fresh enough to redeem offline now.
    services.till.import_members(ROOT / "fixtures" / "members.csv", dt.datetime.now(dt.UTC))
    side = start_if_configured(services.till, services.config, services.scanner)
    assert side is not None and side.api is not None
    tap_the_app(services, side)
    token = token_path(services.config.data_dir).read_text(encoding="utf-8").strip()
    http = httpx.AsyncClient(base_url=side.api.url, headers={"Authorization": f"Bearer {token}"})
    try:
        app = make_app(services)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot)
            assert not app.screen.query_one("#pos").display  # nothing of a POS yet

            r = await http.post("/v1/members/identify", json={"code": "400000000002"})
            assert r.status_code == 200, r.text
            await until(pilot, lambda: toasts(app))
            assert app.screen.query_one("#pos").display
            assert "Eleni Georgiou" in text_of(app, "#pos-member")
            assert "Eleni Georgiou" in toasts(app)[-1]
            assert "1,200" in toasts(app)[-1]  # her balance as the POS sees it

            # The cashier opens a sale for her on the till; the POS records her sale: the
            # till's sale screen closes and the idle screen shows the POS's sale.
            await scan(pilot, "400000000002")
            await settle(pilot)
            assert type(app.screen).__name__ == "SaleScreen"
            sale = {"pos_sale_id": "ODOO-1", "member": "M000001", "currency": "EUR",
                    "total_minor": 4250, "reward_id": "coffee", "cashier": "anna"}  # fmt: skip
            sold = await http.post("/v1/sales", json=sale)
            assert sold.status_code == 200, sold.text
            answer = sold.json()
            await until(pilot, lambda: type(app.screen).__name__ == "IdleScreen")
            told = toasts(app)[-1]
            assert answer["receipt_no"] in told
            assert "Free coffee" in told
            assert "closed" in told
            assert answer["receipt_no"] in text_of(app, "#last")
            balance = answer["loyalty"]["balance"]["available"]
            assert f"{balance:,}" in text_of(app, "#pos-member")
            assert app.unsynced == 1

            # A retry is the same sale: not told again, not counted again.
            seen = len(toasts(app))
            again = await http.post("/v1/sales", json=sale)
            assert again.json() == answer
            await settle(pilot)
            assert len(toasts(app)) == seen
            assert app.unsynced == 1

            refund = {"pos_refund_id": "ODOO-R1", "pos_sale_id": "ODOO-1"}  # anna, signed in
            back = await http.post("/v1/refunds", json=refund)
            assert back.status_code == 200, back.text
            await until(pilot, lambda: len(toasts(app)) > seen)
            assert back.json()["receipt_no"] in toasts(app)[-1]
            assert answer["receipt_no"] in toasts(app)[-1]
            assert app.unsynced == 2

            # In the cashier's language: F9 to Greek, and the POS's next member says so.
            await pilot.press("f9")
            await settle(pilot)
            r = await http.post("/v1/members/identify", json={"code": "M000002"})
            assert r.status_code == 200
            await until(pilot, lambda: "μέλος" in toasts(app)[-1])
            assert app.screen.query_one("#pos").display
    finally:
        await http.aclose()
        side.stop()
        services.close()


async def test_a_receipt_printed_through_the_bridge_shows_on_the_cashiers_screen(
    tmp_path: Path,
) -> None:
    """The cashier scans the member on the till; the POS prints its receipt to the bridge: the
    sale is the POS's, the till's open sale closes, and a receipt the till must refuse is told
    as a warning (it still went to the printer)."""
    services = make_services(tmp_path, "dummy:", printer_bridge={"enabled": True, "port": 0,
                                                                 "idle_s": 0.3})  # fmt: skip
    side = start_if_configured(
        services.till, services.config, services.scanner, services.printer, services.display
    )
    assert side is not None and side.bridge is not None and side.bridge.sock is not None
    tap_the_app(services, side)
    port = side.bridge.sock.getsockname()[1]

    def print_on_the_pos(data: bytes) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as pos:
            pos.sendall(data)

    try:
        app = make_app(services)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot)
            await scan(pilot, "M000002")
            await settle(pilot)
            assert type(app.screen).__name__ == "SaleScreen"
            print_on_the_pos(
                pos_receipt(
                    ["CORNER SHOP", f"{'Bread':<40}{'5.50':>8}", f"{'TOTAL':<38}{'5.50 EUR':>10}"]
                )
            )
            await until(pilot, lambda: type(app.screen).__name__ == "IdleScreen")
            with services.till.db.read() as conn:
                (sold,) = conn.execute("SELECT receipt_no, total_minor FROM sales").fetchall()
            assert sold["total_minor"] == 550
            assert sold["receipt_no"] in toasts(app)[-1]
            assert sold["receipt_no"] in text_of(app, "#last")
            assert "Piotr" in text_of(app, "#pos-member")

            blocked = ["SKLEP", f"{'Razem':<20}{'17,49 EUR':>12}", "Karta: 4000 0000 0036"]
            print_on_the_pos(pos_receipt(blocked))  # M000004's card: blocked
            await until(pilot, lambda: "blocked" in toasts(app)[-1])
            assert app._notifications  # the warning stays on screen a while
            assert services.till.db.one("SELECT count(*) AS n FROM sales")["n"] == 1
    finally:
        side.stop()
        services.close()
