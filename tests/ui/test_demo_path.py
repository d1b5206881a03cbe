"""When the demo's head office cannot start, the till says why: in one line of the status bar
and when F5 asks for a sync, instead of "no head office is configured"."""

from __future__ import annotations

from pathlib import Path

from terminal.app.services import HeadOfficeDown, TillServices
from terminal.commands.demo import prepare, start_demo_headoffice
from tests.ui.conftest import make_app
from tests.ui.test_flows import settle, sign_in, text_of


def test_a_head_office_that_cannot_start_is_reported_with_its_reason(tmp_path: Path) -> None:
    data = prepare(tmp_path, "en")
    (tmp_path / "headoffice.sqlite").mkdir()  # its database cannot be opened
    server, down = start_demo_headoffice(tmp_path, data)
    assert server is None
    assert down is not None and down.reason == "did_not_start"
    assert "unable to open database" in down.detail  # the server's own last line


async def test_the_status_line_and_f5_say_why_head_office_is_missing(
    services: TillServices,
) -> None:
    services.headoffice_down = HeadOfficeDown("missing_extra", "uvicorn")
    app = make_app(services)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        status = " ".join(text_of(app, "#status-text").split())
        assert "Head office did not start: uvicorn is not installed" in status
        await pilot.press("f5")
        await settle(pilot)
        (toast,) = app._notifications
        assert "uvicorn is not installed (./dev setup installs it)" in toast.message
        assert "No head office is configured" not in toast.message
