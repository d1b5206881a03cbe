"""The shopper display in a real browser (headless chromium), served by the real display
server and fed by the real till app (Textual pilot): a scan on the till shows the member's
greeting and balance on the page, Persian is right to left, a hostile name stays text, and the
page blanks after the sale."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from display.hub import Hub
from display.server import DisplayServer
from display.text import TEXT_LIMIT
from display.view import MemberCard, ShopperView
from loyalty.db import to_text
from loyalty.members import MemberSnapshot
from terminal.app.services import TillServices
from tests.browser.conftest import until
from tests.ui.conftest import NOW, make_app, make_services
from tests.ui.test_flows import SIZE, scan, settle, sign_in, type_in

# The longest name the till accepts (80 characters, at enrolment and from head office alike).
HOSTILE = ("<script>window.pwned=1</script>\u202eevil " + "x" * 80)[:80]
ON = {"enabled": True, "port": 0, "blank_after_s": 1.0, "qr_url": "https://app.example/me"}


@pytest.fixture
def till(tmp_path: Path) -> Iterator[TillServices]:
    services = make_services(tmp_path, "dummy:", shopper_display=ON)
    yield services
    services.close()


def page_url(services: TillServices) -> str:
    feed: Any = services.display
    return str(feed.server.url)


def text(driver: Any, selector: str) -> str:
    return str(driver.execute_script(f"return document.querySelector('{selector}').textContent"))


def screen(driver: Any) -> str:
    return str(driver.execute_script("return document.body.dataset.screen"))


async def test_a_scan_shows_the_greeting_and_balance_then_the_page_blanks_after_the_sale(
    browser: Any, till: TillServices
) -> None:
    browser.get(page_url(till))
    app = make_app(till)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        until(browser, lambda d: screen(d) == "idle")
        assert text(browser, "#headline") == "Scan your code here"
        await scan(pilot, "M000002")  # Piotr Nowak, Polish, 5,000 points
        await settle(pilot)
        until(browser, lambda d: screen(d) == "member")
        assert text(browser, "#greeting") == "Dzień dobry, Piotr!"
        assert text(browser, "#first-name") == "Piotr"
        assert browser.execute_script("return document.documentElement.lang") == "pl"
        assert "Punkty do wykorzystania5000" in text(browser, "#figures").replace("\u00a0", "")
        assert "Nowak" not in browser.execute_script("return document.body.textContent")
        await type_in(pilot, "40.00", enter=False)
        await settle(pilot)
        # 40 points on the purchase and 10 more at the Oak tier (125 %).
        until(browser, lambda d: text(d, "#earn-total") == "Punkty razem50")
        assert screen(browser) == "basket"
        assert text(browser, "#earns") == "Punkty za zakupy40Premia za poziom Dąb10"
        affordable = "return document.querySelectorAll('#rewards li.affordable').length"
        assert browser.execute_script(affordable) > 0
        await pilot.press("f10")
        await settle(pilot)
        until(browser, lambda d: screen(d) == "done")
        assert "Dziękujemy!" in text(browser, "#end-heading")
        qr_drawn = "return document.getElementById('qr').naturalWidth"
        until(browser, lambda d: d.execute_script(qr_drawn) > 0)
        # The blank: back to idle after blank_after_s, nothing of Piotr left on the page.
        until(browser, lambda d: screen(d) == "idle")
        body = browser.execute_script("return document.body.textContent")
        assert "Piotr" not in body and "Dziękujemy" not in body


async def test_persian_is_right_to_left_and_a_reconnect_gets_the_current_view(
    browser: Any, till: TillServices
) -> None:
    app = make_app(till)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await scan(pilot, "M000006")  # Maryam, Persian
        await settle(pilot)
        browser.get(page_url(till))  # a browser that connects now gets the member at once
        until(browser, lambda d: screen(d) == "member")
        assert browser.execute_script("return document.documentElement.dir") == "rtl"
        assert browser.execute_script("return document.documentElement.lang") == "fa"
        assert "خوش آمدید" in text(browser, "#greeting")
        assert any("\u06f0" <= c <= "\u06f9" for c in text(browser, "#figures"))  # Persian digits


async def test_a_hostile_name_stays_text(browser: Any, till: TillServices) -> None:
    """A name as head office might send it."""
    card = "400000000994"
    snapshot = MemberSnapshot(
        "M-HOSTILE", to_text(NOW), card_number=card, display_name=HOSTILE, language="en",
        balance=10, tier_id="olive", tier_progress=0,
    )  # fmt: skip
    till.till.apply_snapshots([snapshot], NOW)
    browser.get(page_url(till))
    app = make_app(till)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await scan(pilot, "M-HOSTILE")
        await settle(pilot)
        until(browser, lambda d: screen(d) == "member")
        assert text(browser, "#first-name") == "<script>window.pwned=1</script>"
        assert browser.execute_script("return window.pwned") is None
        assert browser.execute_script("return document.scripts.length") == 1  # display.js only
        body = browser.execute_script("return document.body.textContent")
        assert "\u202e" not in body and "evil" not in body  # the first word only
        assert card not in body.replace(" ", "")


def test_ten_thousand_characters_and_overrides_stay_one_bounded_line(browser: Any) -> None:
    """What the till never sends (it refuses names over 80), the display bounds anyway."""
    hub = Hub(ShopperView("idle", "en", "ltr", "P"))
    server = DisplayServer(hub)
    server.start()
    try:
        browser.get(server.url)
        name = "\u202e<img src=x onerror=window.pwned=1>" + "ש" * 10_000
        card = MemberCard(name, f"Hello, {name}", "Olive")
        hub.publish(ShopperView("member", "en", "ltr", "P\u202e" * 5_000, member=card))
        until(browser, lambda d: screen(d) == "member")
        assert browser.execute_script("return document.images.length") == 1  # the QR's only
        assert browser.execute_script("return window.pwned") is None
        assert len(text(browser, "#greeting")) <= TEXT_LIMIT
        assert len(text(browser, "#program")) <= TEXT_LIMIT
        # The page did not grow past the screen's width: the text wraps, bounded.
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= browser.execute_script("return window.innerWidth")
    finally:
        server.stop()
