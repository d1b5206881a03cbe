"""The app on a real till file with the sample program, members and two cashiers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalty.till import Till
from terminal.app.app import TillApp, build_app
from terminal.app.services import TillServices
from terminal.auth import Cashier, hash_pin
from terminal.config import Config

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)  # a Wednesday: no double points
_PINS = {
    "anna": hash_pin("1234", b"0123456789abcdef"),
    "maria": hash_pin("9999", b"fedcba9876543210"),
}


@pytest.fixture
def services(tmp_path: Path) -> Iterator[TillServices]:
    data = tmp_path / "data"
    till = Till.open(data, must_exist=False)
    program = ROOT / "fixtures" / "program.toml"
    till.initialise("ATH01-T1", program.read_text(encoding="utf-8"), str(program), NOW)
    till.import_members(ROOT / "fixtures" / "members.csv", NOW - dt.timedelta(hours=2))
    cashiers = {
        "anna": Cashier("anna", "Anna", False, _PINS["anna"]),
        "maria": Cashier("maria", "Maria", True, _PINS["maria"]),
    }
    yield TillServices(
        till=till, config=Config(data_dir=data), cashiers=cashiers, clock=lambda: NOW
    )


def make_app(services: TillServices, language: str = "en", **kw: object) -> TillApp:
    return build_app(services, language, **kw)  # type: ignore[arg-type]
