"""The scripting half of `till`: JSON on stdout, one translated line on stderr and exit 2 for
bad input, and nothing half-written."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import init_data_dir, run_till

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "fixtures" / "program.toml"
MEMBERS = ROOT / "fixtures" / "members.csv"


till = run_till


@pytest.fixture
def data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    folder, out = init_data_dir(tmp_path, monkeypatch, capsys)
    assert out["members_imported"] >= 10
    return folder


def ledger_rows(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "till.sqlite") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0])


def test_enrol_sell_refund_and_balance(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, member, _ = till(
        capsys,
        "enroll",
        "--name",
        "Somchai",
        "--language",
        "th",
        "--phone",
        "+66 81 234 5678",
        "--consent",
        "--cashier",
        "nok",
    )
    assert code == 0 and member is not None and member["language"] == "th"
    code, sale, _ = till(
        capsys,
        "sale",
        "--member",
        member["card_number"],
        "--total",
        "32.00",
        "--line",
        "TOM,fresh,25.00",
        "--line",
        "CIG,tobacco,7.00",
    )
    assert code == 0 and sale is not None
    assert {e["reason"]: e["points"] for e in sale["earned"]}["base"] == 25
    assert sale["balance"]["pending"] == sale["points_earned"]
    code, refund, _ = till(capsys, "refund", "--receipt", sale["receipt_no"])
    assert code == 0 and refund is not None and refund["whole"] is True
    assert refund["points_reversed"] == sale["points_earned"]
    code, balance, _ = till(capsys, "balance", "+66812345678")
    assert code == 0 and balance is not None and balance["pending"] == 0


def test_imported_members_redeem_rewards(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, sale, err = till(
        capsys, "sale", "--member", "M000001", "--total", "40.00", "--redeem", "five-off"
    )
    assert code == 0, err
    assert sale is not None and sale["paid_minor"] == 3500 and sale["points_redeemed"] == 500


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sale", "--member", "M404", "--total", "5"], "no member M404"),
        (["sale", "--member", "M000001", "--total", "-5"], "cannot be negative"),
        (["sale", "--member", "M000001", "--total", "12.345"], "too many decimals (maximum: 2)"),
        (["sale", "--member", "M000001", "--total", "1e3"], "is not an amount"),
        (["sale", "--member", "M000001", "--total", "9", "--line", "A,deli,5"], "add up to 5.00"),
        (
            ["sale", "--member", "M000001", "--total", "20", "--redeem", "gold-bar"],
            "no reward gold-bar",
        ),
        (
            ["sale", "--member", "M000001", "--total", "20", "--redeem", "tasting"],
            "not for the olive tier",
        ),
        (["sale", "--member", "M000004", "--total", "20"], "blocked"),
        (
            ["sale", "--member", "M000003", "--total", "80", "--redeem", "twenty-off"],
            "not enough points",
        ),
        (["refund", "--receipt", "NOPE-1"], "no receipt NOPE-1"),
        (["enroll", "--name", "X"], "consent"),
        (["balance", "999"], "no member 999"),
    ],
)
def test_bad_input_gets_one_clear_line_and_writes_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = ledger_rows(data_dir)
    code, out, err = till(capsys, *argv)
    assert code == 2 and out is None
    assert err.startswith("till: ") and err.count("\n") == 1 and message in err, err
    assert ledger_rows(data_dir) == before


def test_errors_speak_the_tills_language(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILL_LANGUAGE", "ro")
    code, _, err = till(
        capsys, "sale", "--member", "M000001", "--total", "10", "--redeem", "five-off"
    )
    assert code == 2 and "recompensa five-off cere un coș de cel puțin 15,00" in err


def test_a_bad_program_names_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILL_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("TILL_LANGUAGE", "en")
    bad = tmp_path / "bad.toml"
    bad.write_text(PROGRAM.read_text(encoding="utf-8").replace("per_minor = 100", "per_minor = 0"))
    code, _, err = till(capsys, "init", "--terminal-id", "T1", "--program", str(bad))
    assert code == 2
    assert f"{bad}: earn.per_minor: too small (minimum: 1, given: 0)" in err


def test_uninitialised_data_dir_is_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILL_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("TILL_LANGUAGE", "en")
    code, _, err = till(capsys, "balance", "M000001")
    assert code == 2 and "till init" in err


def test_the_installed_entry_point_runs(data_dir: Path) -> None:
    exe = shutil.which("till", path=str(Path(sys.executable).parent))
    assert exe is not None
    proc = subprocess.run(
        [exe, "--data-dir", str(data_dir), "balance", "M000002"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["member_id"] == "M000002"


def test_sale_with_print_reaches_a_network_printer_and_a_dead_one_loses_no_sale(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.printer_server import FakeNetworkPrinter

    server = FakeNetworkPrinter()
    try:
        monkeypatch.setenv("TILL_PRINTER", server.url)
        code, sale, err = till(capsys, "sale", "--member", "M000002", "--total", "12.00", "--print")
        assert code == 0, err
        assert sale is not None and sale["print"]["state"] == "printed"
        (job,) = server.jobs
        assert sale["receipt_no"].encode() in job  # Polish prints in text mode: the number is there
        server.refuse()  # the printer is switched off
        before = ledger_rows(data_dir)
        code, sale, err = till(capsys, "sale", "--member", "M000002", "--total", "8.00", "--print")
        assert code == 0 and sale is not None
        assert sale["print"]["state"] == "failed" and sale["print"]["problem"] == "offline"
        assert "stays queued" in err and ledger_rows(data_dir) > before
    finally:
        server.close()


def test_cards_typed_with_spaces_and_phones_read_for_the_shop_country(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TILL_DATA_DIR", str(tmp_path / "waw"))
    monkeypatch.setenv("TILL_LANGUAGE", "en")
    code, _, err = till(
        capsys, "init", "--terminal-id", "WAW01-T1", "--program", str(PROGRAM),
        "--members", str(MEMBERS), "--country", "pl",
    )  # fmt: skip
    assert code == 0, err
    code, balance, _ = till(capsys, "balance", "4000 0000 0002")
    assert code == 0 and balance["member_id"] == "M000001"
    code, sale, _ = till(capsys, "sale", "--member", "4000-0000-0010", "--total", "12.00")
    assert code == 0 and sale["balance"]["member_id"] == "M000002"
    code, balance, _ = till(capsys, "balance", "600 000 002")  # Piotr's, typed the Polish way
    assert code == 0 and balance["member_id"] == "M000002"
    rows = ledger_rows(tmp_path / "waw")
    code, out, err = till(
        capsys, "enroll", "--name", "Ola", "--phone", "600 100", "--consent"
    )  # fmt: skip
    assert (code, out) == (2, None)
    assert "phone" in err and "PL" in err
    assert ledger_rows(tmp_path / "waw") == rows
    monkeypatch.setenv("TILL_DATA_DIR", str(tmp_path / "nowhere"))
    code, _, err = till(
        capsys, "init", "--terminal-id", "X", "--program", str(PROGRAM), "--country", "Poland"
    )  # fmt: skip
    assert code == 2 and "country" in err
