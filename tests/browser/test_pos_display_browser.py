"""The shopper display shows what the shop's POS does, as when the cashier keys it: headless
chromium on the real display server, fed by the real till app (Textual pilot) beside the real
till API (uvicorn on 127.0.0.1, as ``till run`` starts them), called over HTTP by the POS.
The member it identified is greeted, the basket it previews shows its points, the sale it
records shows the end of the sale, then the page blanks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx

from terminal.pos.serve import start_if_configured, tap_the_app
from terminal.pos.token import token_path
from tests.browser.conftest import until
from tests.browser.test_display_browser import ON, page_url, screen, text
from tests.ui.conftest import ROOT, make_app, make_services
from tests.ui.test_flows import SIZE, settle, sign_in


async def test_the_pos_member_basket_and_sale_show_on_the_shopper_display(
    browser: Any, tmp_path: Path
) -> None:
    services = make_services(
        tmp_path, "dummy:", shopper_display=ON, pos_api={"enabled": True, "port": 0}
    )
    # The API runs on the real clock: members fresh enough to redeem offline now.
    services.till.import_members(ROOT / "fixtures" / "members.csv", dt.datetime.now(dt.UTC))
    side = start_if_configured(
        services.till, services.config, services.scanner, services.printer, services.display
    )
    assert side is not None and side.api is not None
    tap_the_app(services, side)
    token = token_path(services.config.data_dir).read_text(encoding="utf-8").strip()
    auth = {"Authorization": f"Bearer {token}"}
    pos = httpx.AsyncClient(base_url=side.api.url, headers=auth, timeout=30)
    try:
        browser.get(page_url(services))
        app = make_app(services)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot)
            until(browser, lambda d: screen(d) == "idle")

            r = await pos.post("/v1/members/identify", json={"code": "M000002"})  # Piotr, pl
            assert r.status_code == 200, r.text
            until(browser, lambda d: screen(d) == "member")
            assert text(browser, "#greeting") == "Dzień dobry, Piotr!"
            assert browser.execute_script("return document.documentElement.lang") == "pl"
            assert "Nowak" not in browser.execute_script("return document.body.textContent")

            basket = {"member": "M000002", "currency": "EUR", "total_minor": 4000,
                      "reward_id": "five-off"}  # fmt: skip
            r = await pos.post("/v1/sales/preview", json=basket)
            assert r.status_code == 200, r.text
            would = r.json()
            assert would["points_earned"] > 0 and would["points_redeemed"] == 500
            points = would["points_earned"]
            until(browser, lambda d: screen(d) == "basket")
            until(browser, lambda d: text(d, "#earn-total") == f"Punkty razem{points}")
            previewed = services.till.db.one("SELECT count(*) AS n FROM sales")
            assert previewed is not None and previewed["n"] == 0  # nothing recorded

            r = await pos.post("/v1/sales", json={**basket, "pos_sale_id": "POS-77"})
            assert r.status_code == 200, r.text
            assert r.json()["loyalty"]["points_earned"] == points  # what the preview said
            until(browser, lambda d: screen(d) == "done")
            assert "Dziękujemy!" in text(browser, "#end-heading")
            until(browser, lambda d: screen(d) == "idle")  # blank_after_s
            body = browser.execute_script("return document.body.textContent")
            assert "Piotr" not in body
            await settle(pilot)
            assert app.unsynced == 1
    finally:
        await pos.aclose()
        side.stop()
        services.close()
