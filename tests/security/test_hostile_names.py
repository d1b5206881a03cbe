"""Names with SQL, control characters, right-to-left overrides and 10,000 characters.

What is decided per field:

* At enrolment (the till's keyboard) a name with a control character, or longer than 80
  characters after its spaces are collapsed, is refused with a translated message. SQL and
  bidi overrides are ordinary text there: stored exactly as typed.
* A name head office sends is stored exactly as sent (head office's record is the truth;
  the till never rewrites it), longer than 80 characters excepted: that member is skipped.
* Wherever a name is shown (the member panel) or printed (text or raster receipts), control
  characters become "?" and bidi embeddings/overrides/isolates are left out (terminal.shown),
  so a name can neither send escape sequences to a terminal or an ESC/POS printer nor turn the
  rest of a receipt line around.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalty import sales
from loyalty.db import to_text
from loyalty.errors import BadInput
from loyalty.members import MemberSnapshot
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest
from loyalty.till import Till
from printer import Mode, PrinterProfile, Row, render
from terminal.app.app import TillApp
from terminal.app.screens.sale import SaleScreen
from terminal.app.services import TillServices
from terminal.receipts import Shop, from_enrolment, from_sale
from terminal.shown import shown
from tests.cli_helpers import init_data_dir, run_till
from tests.printer_server import FakeNetworkPrinter
from tests.ui.conftest import make_app, make_services
from tests.ui.test_flows import SIZE, settle, sign_in, text_of, type_in

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
RLO = "\u202e"
SQL = "Robert'); DROP TABLE members;--"
SPOOF = f"Eve {RLO}0001 latoT"  # reads "Total 1000" where the override is honoured
ESCPOS = "Mallory\x1bp\x00\x19\xfa\x1dV\x00"  # ESC p: open the drawer; GS V: cut the paper
TERMINAL = "Trudy\x1b[2J\x1b]0;pwned\x07"  # clear the screen, retitle the window
KEPT = [SQL, SPOOF, "Ζωή \u2067زهرا\u2069", "Ζωή\u202bcd\u202c"]  # stored intact everywhere
HOSTILE_FROM_HEAD_OFFICE = [*KEPT, ESCPOS, TERMINAL]


def _till(tmp_path: Path) -> Till:
    t = Till.open(tmp_path / "till", must_exist=False)
    program = ROOT / "fixtures" / "program.toml"
    t.initialise("ATH01-T1", program.read_text(encoding="utf-8"), str(program), NOW)
    return t


@pytest.fixture
def till(tmp_path: Path) -> Iterator[Till]:
    t = _till(tmp_path)
    yield t
    t.close()


def _stored_names(till: Till) -> list[str]:
    with till.db.read() as conn:
        return [r[0] for r in conn.execute("SELECT display_name FROM members ORDER BY member_id")]


# -- enrolment ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", KEPT)
def test_enrolment_keeps_sql_and_bidi_text_exactly(till: Till, name: str) -> None:
    enrolment = till.enroll(name, "anna", True, language="el", now=NOW)
    assert enrolment.member.display_name == name
    assert till.member(enrolment.member.member_id).display_name == name
    with till.db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM members").fetchone()[0] == 1
        pending = conn.execute("SELECT display_name FROM enrolments").fetchone()[0]
    assert pending == name  # what head office will receive


@pytest.mark.parametrize("name", [ESCPOS, TERMINAL, "A\x00B", "x" * 10_000, " \t ", "Ann\x9b"])
def test_enrolment_refuses_control_characters_and_very_long_names(till: Till, name: str) -> None:
    with pytest.raises(BadInput) as refused:
        till.enroll(name, "anna", True, now=NOW)
    assert refused.value.code == "malformed_name"
    assert _stored_names(till) == []


@pytest.mark.parametrize("lang", ["en", "el", "pl", "ro", "th", "fa"])
def test_the_cli_refuses_a_hostile_name_in_one_translated_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    lang: str,
) -> None:
    init_data_dir(tmp_path, monkeypatch, capsys, TILL_LANGUAGE=lang)
    for name in (ESCPOS, "x" * 10_000):
        code, out, err = run_till(capsys, "enroll", "--name", name, "--consent")
        assert code == 2 and out is None
        assert err.startswith("till: ") and err.count("\n") == 1, err
        assert "\x1b" not in err and len(err) < 300
    code, out, err = run_till(capsys, "enroll", "--name", SQL, "--consent")
    assert code == 0 and out["display_name"] == SQL, err


# -- snapshots from head office -------------------------------------------------------------------
def _snapshots(names: list[str]) -> list[MemberSnapshot]:
    stamp = to_text(NOW - dt.timedelta(hours=1))
    return [
        MemberSnapshot(f"M{i:06d}", stamp, display_name=name, language="en", tier_id="olive")
        for i, name in enumerate(names, start=1)
    ]


def test_head_office_names_are_stored_exactly_as_sent(till: Till) -> None:
    till.apply_snapshots(_snapshots(HOSTILE_FROM_HEAD_OFFICE), NOW)
    assert _stored_names(till) == HOSTILE_FROM_HEAD_OFFICE
    with pytest.raises(BadInput):
        till.apply_snapshots(_snapshots(["x" * 10_000]), NOW)


def test_shown_neutralises_controls_and_overrides_only() -> None:
    assert shown(SQL) == SQL
    assert shown(SPOOF) == "Eve 0001 latoT"
    assert shown(ESCPOS) == "Mallory?p??\xfa?V?"
    assert shown("زهرا\u200c\u200f") == "زهرا\u200c\u200f"  # ZWNJ and RLM stay
    for name in HOSTILE_FROM_HEAD_OFFICE:
        out = shown(name)
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in out)
        assert not any("\u202a" <= c <= "\u202e" or "\u2066" <= c <= "\u2069" for c in out)


# -- receipts --------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "fa"])  # text mode, raster mode (right to left)
@pytest.mark.parametrize("name", HOSTILE_FROM_HEAD_OFFICE)
def test_a_receipt_prints_a_hostile_name_harmlessly(till: Till, name: str, language: str) -> None:
    (snap,) = _snapshots([name])
    till.apply_snapshots([dataclasses.replace(snap, language=language)], NOW)
    result = sales.sale(
        till,
        SaleRequest("M000001", "anna", (BasketLine("OIL", "grocery", 1250),)),
        now=NOW,
    )
    receipt = from_sale(result, "anna", till, Shop("Olive & Oak"))
    member_rows = [b.value for b in receipt.blocks if isinstance(b, Row) and b.value == shown(name)]
    assert member_rows, "the member's name is on the receipt"
    for mode in (Mode.AUTO, Mode.RASTER):
        rendered = render(receipt, PrinterProfile.load("TM-T20II", 80), mode)
        assert mode is Mode.AUTO or rendered.mode is Mode.RASTER
        assert RLO not in rendered.text and "\x1b" not in rendered.text
        if rendered.mode is Mode.TEXT:
            # The only ESC p is the drawer kick the sale asked for; no cut but the final one.
            assert rendered.data.count(b"\x1bp") == 1
            assert rendered.data.count(b"\x1dV") == 1
    assert till.member("M000001").display_name == name  # stored data untouched


def test_an_enrolment_slip_prints_a_bidi_name_harmlessly(till: Till) -> None:
    enrolment = till.enroll(SPOOF, "anna", True, language="en", now=NOW)
    balance = till.balance(enrolment.member.member_id, NOW)
    slip = from_enrolment(enrolment, balance, "anna", till, Shop("Olive & Oak"), NOW)
    rendered = render(slip, PrinterProfile.load("TM-T20II", 80))
    assert rendered.mode is Mode.TEXT and RLO not in rendered.text
    assert "Eve 0001 latoT" in rendered.text


# -- the app's member panel (pilot) ----------------------------------------------------------------
@pytest.fixture
def printer_server() -> Iterator[FakeNetworkPrinter]:
    server = FakeNetworkPrinter()
    yield server
    server.close()


@pytest.fixture
def services(tmp_path: Path, printer_server: FakeNetworkPrinter) -> TillServices:
    return make_services(tmp_path, printer_server.url)


async def test_the_member_panel_shows_a_hostile_name_harmlessly(services: TillServices) -> None:
    stamp = to_text(NOW - dt.timedelta(hours=1))
    hostile = {
        "M900001": ("400000000903", SPOOF),
        "M900002": ("400000000911", TERMINAL),
        "M900003": ("400000000929", SQL),
    }
    services.till.apply_snapshots(
        [
            MemberSnapshot(m, stamp, card_number=card, display_name=name, tier_id="olive")
            for m, (card, name) in hostile.items()
        ],
        NOW,
    )
    app: TillApp = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        for member_id, (card, name) in hostile.items():
            await type_in(pilot, card)
            await settle(pilot)
            assert isinstance(app.screen, SaleScreen), member_id
            panel = text_of(app, "#member")
            assert shown(name) in panel
            assert "\x1b" not in panel and RLO not in panel and "\x07" not in panel
            await pilot.press("escape")
            await settle(pilot)
        stored = [services.till.member(m).display_name for m in hostile]
    assert stored == [name for _, name in hostile.values()]
