"""The real till app (Textual pilot) feeds the real display server: what the shopper's browser
would receive follows the cashier's work, in the member's language."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from display.hub import Hub
from display.view import ShopperView
from terminal.app.services import TillServices
from terminal.i18n import LANGUAGES
from terminal.shopper_feed import ShopperDisplaySettings
from tests.ui.conftest import make_app, make_services
from tests.ui.test_flows import SIZE, scan, settle, sign_in, type_in

ON = {"enabled": True, "port": 0, "blank_after_s": 0.5, "qr_url": "https://app.example/{lang}/me"}


def hub_of(services: TillServices) -> Hub:
    feed: Any = services.display
    assert feed is not None
    return feed.hub  # type: ignore[no-any-return]


def wait_for(hub: Hub, screen: str, timeout: float = 10.0) -> ShopperView:
    """The last view the display showed of ``screen``, once it showed one since the last call
    (the feed publishes from its own thread)."""
    shown: list[ShopperView] = hub.__dict__.setdefault("_seen", [])
    if not shown:
        hub.listen(shown.append)
        shown.append(hub.view)
    deadline = time.monotonic() + timeout
    while not any(v.screen == screen for v in shown) and time.monotonic() < deadline:
        time.sleep(0.01)
    found = [v for v in shown if v.screen == screen]
    assert found, [v.screen for v in shown]
    del shown[: shown.index(found[-1]) + 1]
    return found[-1]


@pytest.fixture
def shown(tmp_path: Path) -> Iterator[TillServices]:
    services = make_services(tmp_path, "dummy:", shopper_display=ON)
    yield services
    services.close()


async def test_a_scan_a_basket_and_a_sale_reach_the_display(shown: TillServices) -> None:
    app = make_app(shown)
    hub = hub_of(shown)
    feed: Any = shown.display
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        assert wait_for(hub, "idle").lang == "en"
        await scan(pilot, "M000001")  # Eleni Georgiou, Greek
        await settle(pilot)
        view = wait_for(hub, "member")
        assert view.lang == "el" and view.direction == "ltr"
        assert view.member is not None and view.member.first_name == "Eleni"
        assert "Georgiou" not in json.dumps(hub.current()[1].decode())
        await type_in(pilot, "25.00", enter=False)
        await settle(pilot)
        view = wait_for(hub, "basket")
        assert view.basket is not None and view.basket.total.value == "25"
        assert any(r.affordable for r in view.basket.rewards)
        await pilot.press("f10")
        await settle(pilot)
        view = wait_for(hub, "done")
        assert view.end is not None and view.end.qr_url == "https://app.example/el/me"
        # The browser sees it: the server is the real one, on a real socket.
        body = httpx.get(feed.server.url + "state", trust_env=False).json()
        assert body["screen"] in ("done", "idle")
        view = wait_for(hub, "idle")
        assert view.member is None and view.end is None


async def test_a_cancelled_sale_and_a_sign_out_clear_the_display(shown: TillServices) -> None:
    app = make_app(shown)
    hub = hub_of(shown)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await scan(pilot, "M000002")
        await settle(pilot)
        wait_for(hub, "member")
        await pilot.press("escape")
        await settle(pilot)
        assert wait_for(hub, "idle").member is None
        await pilot.press("ctrl+o")
        await settle(pilot)
        wait_for(hub, "blank")


def test_every_language_feeds_the_display(tmp_path: Path) -> None:
    from terminal import shopper_views as views
    from tests.conftest import NOW

    services = make_services(tmp_path, "dummy:")
    try:
        program = services.till.program
        balance = services.till.balance("M000002", NOW)
        for lang in LANGUAGES:
            shopper = views.Shopper(lang, "Piotr Nowak", balance)
            view = views.member(program, shopper, NOW)
            assert view.lang == lang
            assert view.direction == ("rtl" if lang == "fa" else "ltr")
            assert view.member is not None and view.member.first_name == "Piotr"
            assert "Piotr" in view.member.greeting and "{" not in view.member.greeting
            assert views.idle(program, lang).headline
    finally:
        services.close()


def test_a_display_that_cannot_start_leaves_the_till_working(tmp_path: Path) -> None:
    first = make_services(tmp_path / "a", "dummy:", shopper_display=ON)
    try:
        port = first.display.server.port  # type: ignore[union-attr]
        taken = {**ON, "port": port}
        second = make_services(tmp_path / "b", "dummy:", shopper_display=taken)
        assert second.display is None and second.display_down
        second.close()
    finally:
        first.close()


def test_the_display_is_off_unless_configured() -> None:
    assert not ShopperDisplaySettings.from_raw({}, "en").enabled
    on = ShopperDisplaySettings.from_raw({"shopper_display": {"enabled": True}}, "fa_IR")
    assert on.enabled and on.address == "127.0.0.1" and on.language == "fa"


def test_a_configured_pole_display_shows_the_member(tmp_path: Path) -> None:
    from display.pole import WIDTH
    from tests.display.test_pole import PoleServer, text_of

    pole = PoleServer()
    services = make_services(
        tmp_path, "dummy:", shopper_display={**ON, "pole": f"tcp://127.0.0.1:{pole.port}"}
    )
    try:
        feed: Any = services.display
        pole.frames(1)  # the idle screen, sent as the display started
        member = services.till.member("M000002")
        feed.member_identified(
            member.display_name, member.language, services.till.balance("M000002")
        )
        idle, greeting = pole.frames(2)
        assert text_of(idle, "cp437").startswith("Olive & Oak Rewards")
        text = text_of(greeting, "cp852")
        assert text[:WIDTH].rstrip() == "Dzień dobry, Piotr!"
    finally:
        services.close()
        pole.sock.close()


async def test_the_shopper_scans_their_own_code_and_the_cashier_is_told(tmp_path: Path) -> None:
    """TILL_SHOPPER_CAMERA: the shopper-facing camera (here the fixtures' camera clip) finds
    the member like the cashier's scan; the display greets them and the cashier sees a note."""
    import datetime as dt

    from loyalty.db import to_text
    from loyalty.members import MemberSnapshot
    from terminal.app import messages as m
    from terminal.app.screens.sale import SaleScreen
    from tests.ui.conftest import ROOT
    from tests.ui.test_flows import events

    manifest = json.loads((ROOT / "fixtures/scanner/manifest.json").read_text())
    minted = dt.datetime.fromisoformat(manifest["fixture_time"])
    clip = str(ROOT / "fixtures" / "scanner" / manifest["clip"]["file"])
    services = make_services(
        tmp_path, "dummy:", clock=minted + dt.timedelta(seconds=30), shopper_camera=clip,
        shopper_display=ON,
    )  # fmt: skip
    (member_id,) = manifest["clip"]["ids"]
    services.till.apply_snapshots(
        [MemberSnapshot(member_id, to_text(minted), display_name="Clip Shopper", balance=10)],
        minted,
    )
    hub = hub_of(services)
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        for _ in range(200):
            await settle(pilot)
            if isinstance(app.screen, SaleScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, SaleScreen)
        assert [e.source for e in events(app, m.MemberScanned)] == ["shopper"]
        assert any("shopper scanned" in n.message for n in app._notifications)
        view = wait_for(hub, "member")
        assert view.member is not None and view.member.first_name == "Clip"


async def test_a_locked_till_shows_the_shopper_nothing_until_unlocked(shown: TillServices) -> None:
    app = make_app(shown)
    hub = hub_of(shown)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await scan(pilot, "M000002")
        await settle(pilot)
        wait_for(hub, "member")
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert wait_for(hub, "blank").member is None
        await type_in(pilot, "1234")
        await settle(pilot)
        view = wait_for(hub, "member")  # the sale is still open: its member again
        assert view.member is not None and view.member.first_name == "Piotr"


def test_a_mistyped_pole_code_page_leaves_the_till_working_and_says_why(tmp_path: Path) -> None:
    pole = "tcp://127.0.0.1:9?codepage=klingon"
    services = make_services(tmp_path, "dummy:", shopper_display={"enabled": True, "port": 0,
                                                                   "pole": pole})  # fmt: skip
    try:
        assert services.display is None
        assert services.display_down is not None and "klingon" in services.display_down
    finally:
        services.close()


def test_every_language_asks_the_shopper_in_its_own_words() -> None:
    from loyalty.program import load_program
    from terminal import shopper_views as views
    from tests.conftest import PROGRAM

    program = load_program(str(PROGRAM))
    assert program.terms is not None
    seen = set()
    for lang in LANGUAGES:
        phone = views.ask_phone(program, lang, "abc", retry=True)
        terms = views.ask_terms(program, lang, "abc", program.terms)
        assert phone.ask is not None and terms.ask is not None
        assert phone.direction == ("rtl" if lang == "fa" else "ltr")
        assert phone.ask.status == phone.ask.malformed  # a retry says why
        assert terms.ask.terms == program.terms.text[lang]
        # The version stays "2026-11" in a right-to-left line (marked left to right).
        assert "\u200e2026-11\u200e" in terms.ask.version
        seen.add((phone.ask.title, terms.ask.ok))
    assert len(seen) == len(LANGUAGES)
