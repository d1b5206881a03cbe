"""How each screen looks at 80x24 and 120x40, in English, Persian (right-to-left) and Thai.
Accept a changed snapshot only after looking at the report (pytest --snapshot-report)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from terminal.app.services import TillServices
from tests.printer_server import FakeNetworkPrinter
from tests.ui.conftest import make_app

Steps = Callable[[Pilot[None]], Awaitable[None]]


@pytest.fixture
def printer_server() -> Iterator[FakeNetworkPrinter]:
    """A printer that is ready, given time to say so: with conftest's 0.5 s, a loaded machine
    (the fake printer's thread starved) sometimes showed "printer not answering" in a snapshot
    of a screen that has nothing to do with printing."""
    server = FakeNetworkPrinter(timeout=5.0)
    yield server
    server.close()


KEY_NAMES = {"enter", "escape", "tab", "backspace", "ctrl+l"} | {f"f{i}" for i in range(1, 13)}


async def _keys(pilot: Pilot[None], *keys: str) -> None:
    """Press named keys; type anything else character by character."""
    for key in keys:
        if key in KEY_NAMES:
            await pilot.press(key)
        else:
            await pilot.press(*key)
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def sign_in(pilot: Pilot[None]) -> None:
    await _keys(pilot)


async def idle(pilot: Pilot[None]) -> None:
    await _keys(pilot, "anna", "enter", "1234", "enter")


async def until(pilot: Pilot[None], ready: Callable[[], bool]) -> None:
    """Workers (preview, report) answer later on a loaded machine: wait for what is shown."""
    for _ in range(300):
        if ready():
            break
        await pilot.pause(0.02)
    await pilot.pause()


def _shown(pilot: Pilot[None], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector).render())


async def sale(pilot: Pilot[None]) -> None:
    await idle(pilot)
    await _keys(pilot, "M000002", "enter", "42.50", "enter", "enter", "500")
    await until(pilot, lambda: bool(_shown(pilot, "#preview").strip()))


async def confirm_sale(pilot: Pilot[None]) -> None:
    """A total over the confirmation threshold asks before it sells."""
    await idle(pilot)
    await _keys(pilot, "M000007", "enter", "750", "f10")


async def enrol(pilot: Pilot[None]) -> None:
    await idle(pilot)
    await _keys(pilot, "f2", "Zofia")


async def refund(pilot: Pilot[None]) -> None:
    """A two-line receipt, part of its first line picked."""
    await idle(pilot)
    await _keys(pilot, "M000007", "enter", "enter", "fresh 10.00; cafe 5.00", "f10")
    await _keys(pilot, "f3", "ATH01-T1-000001", "enter")
    await until(pilot, lambda: pilot.app.screen.query_one("#refund-lines").row_count > 0)
    await _keys(pilot, "4.00", "enter")


async def refund_confirm(pilot: Pilot[None]) -> None:
    await refund(pilot)
    await _keys(pilot, "f10")
    await until(pilot, lambda: pilot.app.screen.query("#question").first() is not None)


async def end_of_day(pilot: Pilot[None]) -> None:
    await idle(pilot)
    await _keys(pilot, "M000001", "enter", "12.00", "f10", "f6")
    await until(pilot, lambda: pilot.app.screen.query_one("#eod-table").row_count > 0)


async def override(pilot: Pilot[None]) -> None:
    await sale(pilot)
    await _keys(pilot, "backspace", "backspace", "backspace", "1500")
    await until(pilot, lambda: bool(_shown(pilot, "#message").strip()))
    await _keys(pilot, "f7")


async def lock(pilot: Pilot[None]) -> None:
    await idle(pilot)
    await _keys(pilot, "ctrl+l")


async def pos_member(pilot: Pilot[None]) -> None:
    """The shop's POS identified a member through the till API: the idle screen shows them."""
    from terminal.pos.events import PosIdentified

    await idle(pilot)
    services = pilot.app.services  # type: ignore[attr-defined]
    member = services.till.member("M000002")
    balance = services.till.balance("M000002", services.now())
    services.pos_did(PosIdentified("M000002", member.display_name, member.language, balance))
    await until(pilot, lambda: bool(pilot.app.screen.query_one("#pos").display))
    pilot.app.clear_notifications()  # the toast times out; the panel stays


SCREENS: dict[str, Steps] = {
    "sign_in": sign_in,
    "idle": idle,
    "sale": sale,
    "override": override,
    "confirm_sale": confirm_sale,
    "enrol": enrol,
    "refund": refund,
    "refund_confirm": refund_confirm,
    "end_of_day": end_of_day,
    "lock": lock,
    "pos_member": pos_member,
}
CASES = [
    (screen, size, lang)
    for screen in SCREENS
    for size in ((80, 24), (120, 40))
    for lang in ("en", "fa", "th")
]


@pytest.mark.parametrize(
    ("screen", "size", "lang"), CASES, ids=[f"{s}-{w}x{h}-{lang}" for s, (w, h), lang in CASES]
)
def test_screen_looks_right(
    snap_compare: Any, services: TillServices, screen: str, size: tuple[int, int], lang: str
) -> None:
    app = make_app(services, lang)
    assert snap_compare(app, terminal_size=size, run_before=SCREENS[screen])
