"""An enrolment's consent: to the program's terms (their version, carried by the program), as
recorded by the cashier or given by the shopper on the display; a shopper's acceptance of terms
the program no longer has is refused, and a program without terms records the till's own."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from loyalty.errors import ProgramError, Refused
from loyalty.program import parse_program
from loyalty.till import CONSENT_VERSION, Till
from tests.conftest import ROOT


def consent_rows(till: Till) -> list[tuple[str, str, str]]:
    db = sqlite3.connect(till.db.path)
    rows = db.execute(
        "SELECT display_name, consent_by, consent_version FROM enrolments ORDER BY enrolled_at"
    ).fetchall()
    db.close()
    return [tuple(r) for r in rows]


def test_consent_is_to_the_programs_terms_by_whoever_gave_it(till: Till, now: dt.datetime) -> None:
    assert till.program.terms is not None and till.program.terms.version == "2026-11"
    till.enroll("Ada Told", "anna", True, now=now)
    till.enroll("Bea Tapped", "anna", True, consent_by="shopper", terms_version="2026-11", now=now)
    with pytest.raises(Refused) as refused:
        till.enroll("Cy Late", "anna", True, consent_by="shopper", terms_version="2025-1", now=now)
    assert refused.value.code == "terms_changed"
    assert consent_rows(till) == [
        ("Ada Told", "cashier", "2026-11"),
        ("Bea Tapped", "shopper", "2026-11"),
    ]


def test_a_program_without_terms_records_the_tills_own_version(
    till: Till, now: dt.datetime
) -> None:
    text = (ROOT / "fixtures" / "program.toml").read_text(encoding="utf-8")
    without = text[: text.index("[terms]")].replace(
        'version = "2026.11.1"', 'version = "2026.11.2"'
    )
    till.install_program(without, "test", now)
    assert till.program.terms is None
    till.enroll("Dan Old", "anna", True, now=now)
    with pytest.raises(Refused):  # nothing to have accepted on the display
        till.enroll("Eve New", "anna", True, consent_by="shopper", terms_version="2026-11", now=now)
    assert consent_rows(till) == [("Dan Old", "cashier", CONSENT_VERSION)]


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ('[terms]\ntext = "x"', "terms.version"),
        ('[terms]\nversion = "1"', "terms.text"),
        ('[terms]\nversion = "1"\ntext = { el = "x" }', "terms.text"),
        (f'[terms]\nversion = "{"v" * 65}"\ntext = "x"', "terms.version"),
        (f'[terms]\nversion = "1"\ntext = "{"x" * 4001}"', "terms.text.en"),
    ],
)
def test_bad_terms_name_their_field(terms: str, field: str) -> None:
    text = (ROOT / "fixtures" / "program.toml").read_text(encoding="utf-8")
    with pytest.raises(ProgramError) as error:
        parse_program(text[: text.index("[terms]")] + terms)
    assert error.value.params["field"] == field
