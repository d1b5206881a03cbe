"""`till headoffice offers create|list --db` on a real head-office database: the dry run's
count and warning, the offer made, the listing, and refusals as one line in the cashier's
language with exit code 2 (nothing created)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sync import protocol as p
from tests.cli_helpers import run_till
from tests.sync_fixtures import headoffice


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TILL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TILL_LANGUAGE", "en")
    monkeypatch.delenv("TILL_CONFIG", raising=False)
    path = str(tmp_path / "headoffice.sqlite")
    ho = headoffice(path)
    for i, birthday in enumerate(("05-01", "05-20", "09-09")):
        ho.upsert_member(f"M{i}", p.MemberRequest(birthday=birthday))
    ho.store.close()
    return path


def dates() -> list[str]:
    today = dt.datetime.now(dt.UTC).date()
    return ["--starts", today.isoformat(), "--ends", (today + dt.timedelta(days=30)).isoformat()]


def test_dry_run_create_and_list(capsys: pytest.CaptureFixture[str], db: str) -> None:
    base = ["headoffice", "offers", "create", "--db", db, "--id", "may", "--name", "May treat",
            "--name", "el=Κέρασμα Μαΐου", "--kind", "bonus", "--bonus", "200",
            *dates()]  # fmt: skip
    code, out, err = run_till(capsys, *base, "--birthday-month", "5", "--dry-run")
    assert code == 0, err
    assert (out["reached"], out["members_total"], out["warning"]) == (2, 3, None)
    code, out, _ = run_till(capsys, *base, "--birthday-month", "12", "--dry-run")
    assert out["warning"] == "matches_nobody"
    code, out, err = run_till(capsys, *base, "--birthday-month", "5")
    assert code == 0 and out["reached"] == 2 and not out["dry_run"], err
    code, out, err = run_till(capsys, "headoffice", "offers", "list", "--db", db)
    assert code == 0, err
    assert [(o["offer"]["offer_id"], o["reached"], o["used"]) for o in out["offers"]] == [
        ("may", 2, 0)
    ]
    assert out["offers"][0]["offer"]["name"] == {"en": "May treat", "el": "Κέρασμα Μαΐου"}


def test_refusals_say_why_in_the_language_and_create_nothing(
    capsys: pytest.CaptureFixture[str], db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["headoffice", "offers", "create", "--db", db, "--id", "all", "--name", "All",
            "--kind", "multiplier", "--multiplier", "200", *dates()]  # fmt: skip
    code, out, err = run_till(capsys, *base)
    assert code == 2 and out is None
    assert err.strip() == (
        "till: offer all reaches every active member (members: 3): nothing was created; "
        "if that is what you mean, say so with --everybody"
    )
    monkeypatch.setenv("TILL_LANGUAGE", "el")
    code, _, err = run_till(capsys, *base, "--member", "NOBODY")
    assert code == 2 and "δεν αφορά κανένα μέλος" in err
    code, _, err = run_till(capsys, *base[:-4], "--multiplier", "100", *dates(), "--tier", "oak")
    assert code == 2 and "multiplier_percent" in err
    code, out, _ = run_till(capsys, "headoffice", "offers", "list", "--db", db)
    assert out["offers"] == []
    code, out, err = run_till(capsys, *base, "--everybody")
    assert code == 0 and out["reached"] == 3, err
