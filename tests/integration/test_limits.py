"""The program's limits at the source: a barcode scanned into the total, or a sale that would
earn absurd points, is refused at the till with one translated line and reaches no ledger."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from loyalty.program import parse_program
from tests.cli_helpers import init_data_dir, run_till

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = (ROOT / "fixtures" / "program.toml").read_text(encoding="utf-8")


def _ledger_size(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "till.sqlite") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0])


def test_a_barcode_scanned_into_the_total_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir, _ = init_data_dir(tmp_path, monkeypatch, capsys)
    code, out, err = run_till(capsys, "sale", "--member", "M000001", "--total", "4006381333931")
    assert code == 2 and out is None
    assert "larger than the largest sale this shop allows (€100,000.00)" in err
    assert err.count("\n") == 1
    assert _ledger_size(data_dir) == 0
    monkeypatch.setenv("TILL_LANGUAGE", "pl")
    code, _, err = run_till(capsys, "sale", "--member", "M000001", "--total", "4006381333931")
    assert code == 2 and "przekracza największą sprzedaż" in err
    code, _, err = run_till(capsys, "sale", "--member", "M000001", "--total", "99999.00")
    assert code == 0, err
    assert _ledger_size(data_dir) >= 1


def test_the_program_sets_the_limits_within_the_protocols_bounds() -> None:
    default = parse_program(PROGRAM)
    assert default.limits.max_sale_minor == 10_000_000
    assert default.limits.max_entry_points == 10_000_000
    tight = parse_program(PROGRAM + "\n[limits]\nmax_sale_minor = 5000\nmax_entry_points = 100\n")
    assert (tight.limits.max_sale_minor, tight.limits.max_entry_points) == (5000, 100)
    # An engagement rule paying more than one entry may hold could never be paid: refused.
    with pytest.raises(Exception, match="engagement"):
        parse_program(PROGRAM + "\n[limits]\nmax_entry_points = 10\n")
    with pytest.raises(Exception, match="limits.max_entry_points"):
        parse_program(PROGRAM + "\n[limits]\nmax_entry_points = 2000000000000\n")


def test_a_sale_that_would_earn_beyond_the_entry_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    program = tmp_path / "tight.toml"
    # 100: the program's largest engagement rule (profile completed) still fits, a sale of
    # EUR 150.00 (150 points) does not.
    program.write_text(PROGRAM + "\n[limits]\nmax_entry_points = 100\n", encoding="utf-8")
    monkeypatch.setenv("TILL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TILL_LANGUAGE", "en")
    code, _, err = run_till(capsys, "init", "--terminal-id", "T1", "--program", str(program),
                            "--members", str(ROOT / "fixtures" / "members.csv"))  # fmt: skip
    assert code == 0, err
    code, _, err = run_till(capsys, "sale", "--member", "M000001", "--total", "150.00")
    assert code == 2 and "most this shop allows: 100" in err, err
    assert _ledger_size(tmp_path / "data") == 0
