"""The app on a real till file with the sample program and members, two cashiers, the TEST-ONLY
member-code key, and a network receipt printer on 127.0.0.1 (a real TCP socket)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message

from loyalty.till import Till
from terminal.app.app import TillApp
from terminal.app.services import TillServices
from terminal.app.wiring import build_services
from terminal.auth import hash_pin
from terminal.config import Config
from tests.printer_server import FakeNetworkPrinter

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)  # a Wednesday: no double points
CASHIERS = {
    "anna": {"name": "Anna", "pin_hash": hash_pin("1234", b"0123456789abcdef")},
    "maria": {"name": "Maria", "manager": True, "pin_hash": hash_pin("9999", b"fedcba9876543210")},
}


@pytest.fixture
def printer_server() -> Iterator[FakeNetworkPrinter]:
    server = FakeNetworkPrinter()
    yield server
    server.close()


def till_folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    till = Till.open(data, must_exist=False)
    program = ROOT / "fixtures" / "program.toml"
    till.initialise("ATH01-T1", program.read_text(encoding="utf-8"), str(program), NOW)
    till.import_members(ROOT / "fixtures" / "members.csv", NOW - dt.timedelta(hours=2))
    till.close()
    (data / "keys").mkdir()
    shutil.copy(ROOT / "fixtures" / "keys" / "test-2026.pub", data / "keys")
    return data


def make_services(
    tmp_path: Path, printer_url: str, clock: dt.datetime = NOW, **raw: object
) -> TillServices:
    data = till_folder(tmp_path)
    config = Config(
        data_dir=data,
        printer=printer_url,
        printer_profile="TM-T20II",
        raw={"cashiers": CASHIERS, **raw},
        camera=raw.get("camera"),
        shopper_camera=raw.get("shopper_camera"),
    )  # type: ignore[arg-type]
    return build_services(config, clock=lambda: clock)


@pytest.fixture
def services(tmp_path: Path, printer_server: FakeNetworkPrinter) -> Iterator[TillServices]:
    yield make_services(tmp_path, printer_server.url)


class RecordingApp(TillApp):
    """The till app as tests run it: every message any part of it handled is recorded through
    Textual's own ``message_hook`` (the app itself keeps no test plumbing). ``seen`` holds each
    message once, in the order it was first dispatched."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.seen: list[Message] = []
        self._seen_ids: set[int] = set()

    def _record(self, message: Message) -> None:
        if id(message) not in self._seen_ids:
            self._seen_ids.add(id(message))
            self.seen.append(message)

    def run_test(self, *args: Any, **kw: Any) -> Any:
        kw.setdefault("message_hook", self._record)
        return super().run_test(*args, **kw)


def make_app(services: TillServices, language: str = "en", **kw: object) -> RecordingApp:
    return RecordingApp(services, language, kw.get("keymap"))  # type: ignore[arg-type]
