"""The shopper acts on the touch display, in a real browser (headless chromium) on the real
display server fed by the real till app (Textual pilot): they type their phone to check in, the
cashier's screen says who (first name, last two digits) and the cashier accepts or refuses;
they accept the program's terms to enrol and the enrolment records their consent. The page
shows nothing of a member before the cashier accepts, and takes input only from the paired
page, only while the till asks."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Static

from display.touch import PhoneTyped
from terminal.app import messages as m
from terminal.app.screens.dialogs import ConfirmDialog
from terminal.app.screens.enrol import EnrolScreen
from terminal.app.services import TillServices
from tests.browser.conftest import until
from tests.ui.conftest import make_app, make_services
from tests.ui.test_flows import SIZE, settle, sign_in, type_in

TOKEN = "pairing-token-for-tests"
ON = {
    "enabled": True,
    "port": 0,
    "blank_after_s": 1.0,
    "touch": True,
    "pairing_token": TOKEN,
}
SHOTS = Path(os.environ.get("DISPLAY_SHOTS", "/tmp/display-touch-shots"))


@pytest.fixture
def till(tmp_path: Path) -> Iterator[TillServices]:
    services = make_services(tmp_path, "dummy:", shopper_display=ON)
    yield services
    services.close()


def feed(services: TillServices) -> Any:
    return services.display


def text(driver: Any, selector: str) -> str:
    return str(driver.execute_script(f"return document.querySelector('{selector}').textContent"))


def data(driver: Any, name: str) -> str:
    return str(driver.execute_script(f"return document.body.dataset.{name} || ''"))


def tap_phone(driver: Any, phone: str) -> None:
    """The shopper taps the keypad, then OK."""
    from selenium.webdriver.common.by import By

    for key in phone:
        driver.find_element(By.CSS_SELECTOR, f'#keypad button[data-key="{key}"]').click()
    driver.find_element(By.ID, "ask-ok").click()


def shot(driver: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


async def wait_for(pilot: Pilot[None], condition: Any, rounds: int = 250) -> None:
    for _ in range(rounds):
        await pilot.pause(0.02)
        await pilot.app.workers.wait_for_complete()
        if condition():
            return
    raise AssertionError("the till did not get there")


def message(app: Any) -> str:
    return str(app.screen.query_one("#message", Static).render())


async def test_the_shopper_checks_in_by_phone_and_the_cashier_accepts(
    browser: Any, till: TillServices
) -> None:
    browser.get(feed(till).paired_url)
    app = make_app(till)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        until(browser, lambda d: data(d, "screen") == "idle")
        # Not asked: the page takes nothing, and shows no keypad.
        answer = browser.execute_async_script(POST, TOKEN, "x", "phone", "+48600000002")
        assert answer == [409, "not_asking"]
        await pilot.press("f7")
        await settle(pilot)
        assert "phone number on the shopper display" in message(app)
        until(browser, lambda d: data(d, "screen") == "ask" and data(d, "ask") == "phone")
        assert text(browser, "#ask-title") == "Check in with your phone number"
        shot(browser, "ask-phone-en")
        tap_phone(browser, "+48600000002")  # Piotr Nowak's
        until(browser, lambda d: "cashier will confirm" in text(d, "#ask-status"))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        question = str(app.screen.query_one("#question", Static).render())
        assert question.startswith("Shopper checked in: Piotr, phone ending 02")
        # Nothing of the member on the page until the cashier accepts.
        body = browser.execute_script("return document.body.textContent")
        assert "Piotr" not in body and "5000" not in body.replace("\u00a0", "")
        shot(browser, "ask-phone-sent-en")
        await app.screen.run_action("yes")  # Enter on the dialog
        await settle(pilot)
        until(browser, lambda d: data(d, "screen") == "member")
        assert text(browser, "#greeting") == "Dzień dobry, Piotr!"
        assert [type(e) for e in app.seen if isinstance(e, m.ShopperActed)] == [m.ShopperActed]


async def test_the_cashier_refuses_a_check_in_and_the_page_shows_nothing_of_them(
    browser: Any, till: TillServices
) -> None:
    browser.get(feed(till).paired_url)
    app = make_app(till)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pilot.press("f7")
        until(browser, lambda d: data(d, "ask") == "phone")
        tap_phone(browser, "+306940000001")  # Eleni's
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("escape")
        await settle(pilot)
        until(browser, lambda d: data(d, "screen") == "idle")
        assert "Check-in refused" in message(app)
        assert "Eleni" not in browser.execute_script("return document.body.textContent")


async def test_bad_input_on_the_page_reaches_the_till_never_or_as_no_phone(
    browser: Any, till: TillServices
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(feed(till).paired_url)
    app = make_app(till)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pilot.press("f7")
        until(browser, lambda d: data(d, "ask") == "phone")
        # Letters, and a barcode's worth of digits, typed on a keyboard: refused by the page's
        # server at once, nothing reaches the till.
        field = browser.find_element(By.ID, "phone")
        for typed in ("maria", "4006381333931123456789"):
            field.clear()
            field.send_keys(typed)
            browser.find_element(By.ID, "ask-ok").click()
            until(browser, lambda d: "not a phone number" in text(d, "#ask-status"))
            browser.execute_script("document.getElementById('ask-status').textContent = ''")
        await settle(pilot)
        assert not [e for e in app.seen if isinstance(e, m.ShopperActed)]
        # Phone-shaped but no phone by the cashier's rules: the till says so, they try again.
        field.clear()
        tap_phone(browser, "+4812")
        await wait_for(pilot, lambda: "not a phone number" in message(app))
        until(browser, lambda d: "not a phone number" in text(d, "#ask-status"))
        # A double tap: the second is refused while the first is with the till.
        double = browser.execute_async_script(DOUBLE, TOKEN)
        assert sorted(double) == ["pending", "sent"]
        await wait_for(pilot, lambda: "no member has it" in message(app))
        assert "ending 99" in message(app)
        # A page without the token (another browser on the shop's network) cannot type.
        browser.get(feed(till).server.url)
        until(browser, lambda d: data(d, "screen") == "ask")
        assert data(browser, "paired") == "no"
        assert not browser.find_element(By.ID, "keypad").is_displayed()
        wrong = browser.execute_async_script(POST, "guess", "", "phone", "+48600000002")
        assert wrong == [403, "not_paired"]
        shopper_inputs = [e.item for e in app.seen if isinstance(e, m.ShopperActed)]
        assert [type(i) for i in shopper_inputs] == [PhoneTyped, PhoneTyped]


async def test_no_member_then_the_shopper_accepts_the_terms_and_is_enrolled(
    browser: Any, till: TillServices
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(feed(till).paired_url)
    app = make_app(till)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pilot.press("f7")
        until(browser, lambda d: data(d, "ask") == "phone")
        tap_phone(browser, "+48600000123")
        await wait_for(pilot, lambda: "no member has it" in message(app))
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, EnrolScreen)
        assert app.screen.query_one("#phone", Input).value == "+48600000123"
        await type_in(pilot, "Zofia Kowalska")
        await pilot.press("f7")
        await settle(pilot)
        until(browser, lambda d: data(d, "ask") == "terms")
        assert "Olive & Oak" in text(browser, "#ask-title")
        assert "2026-11" in text(browser, "#terms-version")
        shot(browser, "ask-terms-en")
        browser.find_element(By.ID, "ask-ok").click()
        await wait_for(pilot, lambda: app.screen.query_one("#consent", Checkbox).value)
        assert "accepted the terms (version 2026-11)" in message(app)
        await pilot.press("f10")
        await settle(pilot)
        until(browser, lambda d: data(d, "screen") == "member")
        assert text(browser, "#first-name") == "Zofia"
    db = sqlite3.connect(till.config.data_dir / "till.sqlite")
    row = db.execute("SELECT consent_by, consent_version, display_name FROM enrolments").fetchone()
    assert row == ("shopper", "2026-11", "Zofia Kowalska")


# The page's own fetch, as display.js sends it: [status, answer].
POST = """
const [token, session, kind, value, done] = arguments;
const s = session || document.body.dataset.askSession || "";
fetch('/input', {method: 'POST', headers: {'Content-Type': 'application/json'},
  body: JSON.stringify({token, session: s, kind, value})})
  .then(async (r) => done([r.status, (await r.json()).answer]));
"""
DOUBLE = """
const [token, done] = arguments;
const session = document.body.dataset.askSession;
const send = () => fetch('/input', {method: 'POST', headers: {'Content-Type': 'application/json'},
  body: JSON.stringify({token, session, kind: 'phone', value: '+48 600 000 099'})})
  .then(async (r) => (await r.json()).answer);
Promise.all([send(), send()]).then(done);
"""


async def test_a_scan_while_the_display_asks_ends_the_ask(browser: Any, till: TillServices) -> None:
    """The shopper walks off mid-way and the next one scans their code: the till serves the
    scanned member and the page takes nothing more of the ask it showed."""
    from tests.ui.test_flows import scan

    browser.get(feed(till).paired_url)
    app = make_app(till)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pilot.press("f7")
        until(browser, lambda d: data(d, "ask") == "phone")
        session = data(browser, "askSession")
        await scan(pilot, "M000002")
        await settle(pilot)
        until(browser, lambda d: data(d, "screen") == "member")
        late = browser.execute_async_script(POST, TOKEN, session, "phone", "+306940000001")
        assert late == [409, "not_asking"]
        await settle(pilot)
        assert not [e for e in app.seen if isinstance(e, m.ShopperActed)]
        assert "phone number" not in message_or_empty(app)


def message_or_empty(app: Any) -> str:
    found = app.screen.query("#message")
    return str(found.first(Static).render()) if found else ""
