"""Data and secrets (issue 20, finding 7): private files, credentials kept out of messages and
logs, undecodable arguments, and names that would act on a terminal. Real `till` processes on
real files."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from loyalty.db import to_text
from loyalty.members import MemberSnapshot
from loyalty.till import Till
from sync.credentials import load_token, token_path
from sync.headoffice.store import open_store
from sync.redact import RedactingFilter, redact

ROOT = Path(__file__).resolve().parents[2]
TILL = str(Path(sys.executable).with_name("till"))
SECRET = "S3cr3t-pw"


def run(data: Path, *argv: str | bytes) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": "/usr/bin:/bin", "TILL_LANGUAGE": "en", "HOME": str(data.parent)}
    return subprocess.run(
        [TILL, "--data-dir", str(data), *argv], capture_output=True, timeout=60, env=env
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    data = tmp_path / "new" / "data"
    proc = run(
        data, "init", "--terminal-id", "ATH01-T1",
        "--program", str(ROOT / "fixtures" / "program.toml"),
        "--members", str(ROOT / "fixtures" / "members.csv"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return data


# -- private files -------------------------------------------------------------------------------
def test_the_data_dir_and_database_are_created_private(data: Path) -> None:
    assert mode(data) == 0o700
    assert mode(data / "till.sqlite") == 0o600
    till = Till.open(data)  # while a writer has it open, SQLite's side files exist
    till.adjust("M000001", 5, "check", "cli")
    sides = [data / f"till.sqlite{s}" for s in ("-wal", "-shm")]
    assert all(p.exists() and mode(p) == 0o600 for p in sides)
    till.close()


def test_files_found_open_to_others_are_tightened_at_start(data: Path) -> None:
    os.chmod(data, 0o755)
    os.chmod(data / "till.sqlite", 0o644)
    token_path(data).write_text("T1.secret\n", encoding="utf-8")
    os.chmod(token_path(data), 0o644)
    proc = run(data, "balance", "M000001")
    assert proc.returncode == 0, proc.stderr
    assert (mode(data), mode(data / "till.sqlite")) == (0o700, 0o600)
    assert load_token(data) == "T1.secret" and mode(token_path(data)) == 0o600


def test_head_office_database_is_private(tmp_path: Path) -> None:
    path = tmp_path / "headoffice.sqlite"
    store = open_store(str(path))
    assert mode(path) == 0o600
    store.close()
    folder = tmp_path / "ho"
    proc = subprocess.Popen(
        [TILL, "--data-dir", str(folder), "headoffice", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["db"].endswith("headoffice.sqlite")
        assert mode(folder) == 0o700 and mode(folder / "headoffice.sqlite") == 0o600
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


# -- credentials ---------------------------------------------------------------------------------
def test_a_database_url_password_is_never_printed(tmp_path: Path) -> None:
    url = f"postgresql://loyalty:{SECRET}@127.0.0.1:1/headoffice"
    proc = run(tmp_path / "d", "headoffice", "serve", "--db", url, "--port", "0")
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "postgresql://loyalty:***@127.0.0.1:1" in err
    assert SECRET not in err and SECRET.encode() not in proc.stdout
    module = subprocess.run(
        [sys.executable, "-m", "sync.headoffice.serve", "--db", url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert module.returncode == 1 and "Traceback" not in module.stderr
    assert SECRET not in module.stderr + module.stdout


def test_redaction_of_urls_keywords_and_log_records() -> None:
    assert (
        redact(f"at postgres://u:{SECRET}@db:5432/x, then") == "at postgres://u:***@db:5432/x, then"
    )
    assert SECRET not in redact(f"host=db password={SECRET} user=u")
    assert SECRET not in redact(f"host=db password='{SECRET} x' user=u")
    assert redact("http://127.0.0.1:8750/v1/push") == "http://127.0.0.1:8750/v1/push"
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "cannot reach %s", (
        f"postgresql://u:{SECRET}@h/db",), None)  # fmt: skip
    assert RedactingFilter().filter(record)
    assert SECRET not in record.getMessage() and "u:***@h" in record.getMessage()


# -- arguments and output ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ("sale", "--member", b"M00\xff0001", "--total", "5.00"),
        ("sale", "--member", "M000001", "--total", b"5.\xe900"),
        ("balance", b"\xc3\x28"),
        ("enroll", "--name", b"Zo\xeb", "--consent"),
        ("receipt", b"ATH01-T1-\xff"),
        ("refund", "--receipt", b"\xfe\xff"),
        ("scan", "--text", b"\x80abc"),
    ],
)
def test_an_undecodable_argument_gets_one_clear_line(data: Path, argv: tuple[str | bytes]) -> None:
    proc = run(data, *argv)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and proc.stdout == b""
    assert err.startswith("till: argument ") and "not valid UTF-8" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_names_that_would_act_on_a_terminal_reach_stdout_escaped(data: Path) -> None:
    name = "Eve\x9b2J\x9d0;pwned\x07 \u202e0001 latoT\u2066x\u2069\x7f"
    till = Till.open(data)
    stamp = to_text(dt.datetime.now(dt.UTC))
    till.apply_snapshots(
        [
            MemberSnapshot(
                "M900001", stamp, card_number="400000000903", display_name=name, tier_id="olive"
            )
        ]  # fmt: skip
    )
    till.close()
    proc = run(data, "balance", "M900001")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    for char in "\x9b\x9d\x07\u202e\u2066\u2069\x7f":
        assert char not in out
    assert json.loads(out)["display_name"] == name  # a script still reads it exactly


# -- documents nested thousands deep -------------------------------------------------------------
def test_a_deeply_nested_program_or_config_is_one_clear_line(tmp_path: Path) -> None:
    program = (ROOT / "fixtures" / "program.toml").read_text(encoding="utf-8")
    deep = tmp_path / "deep.toml"
    deep.write_text(program + "\nextra = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    proc = run(tmp_path / "data", "init", "--terminal-id", "T1", "--program", str(deep))
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "nested too deeply (most levels allowed: 32)" in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    config = tmp_path / "config.toml"
    config.write_text("x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n", encoding="utf-8")
    proc = run(tmp_path / "data", "--config", str(config), "balance", "M1")
    err = proc.stderr.decode()
    assert (
        proc.returncode == 2 and f"{config} is nested too deeply (most levels allowed: 32)" in err
    ), err
    assert err.count("\n") == 1


def test_the_nesting_bound_ignores_brackets_in_strings_and_comments() -> None:
    from loyalty.tomlsafe import depth_exceeds, loads

    many = "[" * 100
    text = (
        f'a = "{many}\\"{many}"\nb = \'{many}\'\nc = """\n{many}\\"""{many}\n"""\n'
        f"d = '''{many}'''''\n# {many}\n[[t]]\ne = [[1], {{x = [2]}}]\n"
    )
    assert not depth_exceeds(text) and loads(text)["t"][0]["e"] == [[1], {"x": [2]}]
    assert depth_exceeds("a = " + "[" * 33 + "]" * 33)
    assert not depth_exceeds("a = " + "[" * 32 + "]" * 32)
