"""The scanner as the app's ``TillServices.scanner`` hook, on a real till file."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from loyalty.errors import NotFound
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest
from loyalty.till import Till
from scanner.codes import mint_app_code
from scanner.keys import load_private_key
from terminal.app.services import TillServices
from terminal.config import Config
from terminal.scanning import ScanRefusedError, TillScanner

ROOT = Path(__file__).resolve().parents[2]
KEYS = ROOT / "fixtures" / "keys"
TEST_KEY = load_private_key(KEYS / "test-2026.TEST-ONLY-private.pem")


@pytest.fixture
def services(till: Till, tmp_path: Path, now: dt.datetime) -> TillServices:
    data = tmp_path / "data"
    (data / "keys").mkdir(parents=True)
    shutil.copy(KEYS / "test-2026.pub", data / "keys")
    (data / "denylist.json").write_text(json.dumps({"blocked_members": ["M000002"]}))
    config = Config(data_dir=data)
    services = TillServices(till=till, config=config, cashiers={}, clock=lambda: now)
    services.scanner = TillScanner.from_config(config, till.db)
    return services


def code_for(member: str, at: dt.datetime, nonce: int = 1) -> str:
    return mint_app_code(TEST_KEY, "test-2026", member, at, 300, nonce.to_bytes(4, "big"))


def refusal(services: TillServices, code: str) -> str:
    with pytest.raises(ScanRefusedError) as err:
        services.identify(code)
    return str(err.value)


def test_an_app_code_is_spent_only_by_the_sale_it_opened_and_stays_spent(
    services: TillServices, till: Till, now: dt.datetime
) -> None:
    earlier = code_for("M000001", now, nonce=2)  # shown first, then Esc
    code = code_for("M000001", now)
    assert services.identify(earlier).member_id == "M000001"
    assert services.identify(code).member_id == "M000001"
    member, use = services.identify_scan(code)  # Esc and the same code again: still good
    assert member.member_id == "M000001" and use is not None
    basket = (BasketLine("BASKET", "general", 1000),)
    sold = services.sell(SaleRequest("M000001", "anna", basket), use)
    assert refusal(services, code) == "replay"
    assert services.identify(earlier).member_id == "M000001"  # not the code the sale used
    # A restarted till (a new scanner on the same file) still refuses it.
    assert services.scanner is not None
    services.scanner = TillScanner.from_config(services.config, till.db)
    assert refusal(services, code) == "replay"
    with till.db.read() as conn:
        rows = conn.execute("SELECT member_id, receipt_no FROM spent_app_codes").fetchall()
    assert [tuple(r) for r in rows] == [("M000001", sold.receipt_no)]


def test_refused_app_codes_raise_with_their_reason(
    services: TillServices, now: dt.datetime
) -> None:
    assert refusal(services, code_for("M000001", now - dt.timedelta(hours=1))) == "expired"
    assert refusal(services, code_for("M000002", now)) == "blocked"
    forged = code_for("M000001", now)[:-4] + "AAAA"
    assert refusal(services, forged) in {"bad_signature", "not_a_member_code"}
    assert refusal(services, "ΛΤ" + code_for("M000001", now)[2:50]) == "wrong_keyboard_layout"


def test_card_numbers_and_member_ids_are_left_to_the_member_cache(
    services: TillServices,
) -> None:
    assert services.identify("400000000002").member_id == "M000001"
    assert services.identify("M000001").member_id == "M000001"
    with pytest.raises(NotFound):
        services.identify("400000000003")  # a wrong check digit, or someone's phone number
    # Typed as printed on the card, in groups, or with dashes: the same member.
    assert services.identify("4000 0000 0002").member_id == "M000001"
    assert services.identify("4000-0000-0002 ").member_id == "M000001"


def test_a_phone_typed_any_way_finds_its_member_in_the_app(
    services: TillServices, now: dt.datetime
) -> None:
    with services.till.db.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('country', 'RO')")
    enrolment = services.enrol("Ana", "anna", "ro", "0721 000 111", None)
    for typed in ("0721 000 111", "+40 721 000 111", "0040721000111", "+40-721-000-111"):
        assert services.identify(typed).member_id == enrolment.member.member_id, typed


def test_an_app_code_typed_through_a_greek_layout_still_identifies(
    services: TillServices, now: dt.datetime
) -> None:
    from scanner.layouts import TYPED_AS

    garbled = "".join(TYPED_AS["gr"].get(c, c) for c in code_for("M000001", now, nonce=9))
    assert services.identify(garbled).member_id == "M000001"
