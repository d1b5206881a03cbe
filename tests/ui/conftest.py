"""The app on a real till file with the sample program and members, two cashiers, the TEST-ONLY
member-code key, and a network receipt printer on 127.0.0.1 (a real TCP socket)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalty.till import Till
from terminal.app.app import TillApp, build_app
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
    )  # type: ignore[arg-type]
    return build_services(config, clock=lambda: clock)


@pytest.fixture
def services(tmp_path: Path, printer_server: FakeNetworkPrinter) -> Iterator[TillServices]:
    yield make_services(tmp_path, printer_server.url)


def make_app(services: TillServices, language: str = "en", **kw: object) -> TillApp:
    return build_app(services, language, **kw)  # type: ignore[arg-type]
