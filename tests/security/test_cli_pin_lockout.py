"""Guessing a manager's PIN at the command line is locked out like the app's sign-in: after
``pin_attempts`` wrong PINs in a row, `till sale --override-manager` with that id is refused,
right PIN or not, until ``pin_lockout_minutes`` have passed, with a line that says until when.
Each `till` is its own process: the count lives in the till's SQLite. Processes started at once
check no more PINs between them than the limit. Real `till` processes, the clock moved with
faketime."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from terminal.auth import hash_pin
from tests.security.test_cli_authority import REDEEM, TILL, ledger_size, make_till, refused, run

CONFIG = f"""
cashier = "anna"
pin_attempts = 3
pin_lockout_minutes = 10
[cashiers.anna]
name = "Anna"
pin_hash = "{hash_pin("1234")}"
[cashiers.maria]
name = "Maria"
manager = true
pin_hash = "{hash_pin("9999")}"
[cashiers.nikos]
name = "Nikos"
manager = true
pin_hash = "{hash_pin("5555")}"
"""
# --preview: a right PIN shows the override and writes nothing, so the member's points last.
REASON = ("--override-reason", "regular customer, network down", "--preview")


def override(data: Path, manager: str, pin: str, *faked: str) -> subprocess.CompletedProcess[str]:
    if not faked:
        return run(data, *REDEEM, "--override-manager", manager, *REASON, stdin=pin + "\n")
    env = {"PATH": "/usr/bin:/bin", "TILL_LANGUAGE": "en", "HOME": str(data.parent)}
    return subprocess.run(
        [*faked, TILL, "--data-dir", str(data), *REDEEM, "--override-manager", manager, *REASON],
        input=pin + "\n", capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


def failures(data: Path) -> dict[str, int]:
    with sqlite3.connect(data / "till.sqlite") as conn:
        return dict(conn.execute("SELECT cashier_id, failures FROM pin_failures"))


def test_wrong_pins_lock_the_manager_out_across_processes_until_the_time_passes(
    tmp_path: Path,
) -> None:
    data = make_till(tmp_path, CONFIG)
    before = ledger_size(data)
    # A right PIN clears the count: two wrong, one right, two wrong again is no lock-out.
    refused(override(data, "maria", "0000"), "PIN is wrong")
    refused(override(data, "maria", "0001"), "PIN is wrong")
    assert override(data, "maria", "9999").returncode == 0
    assert failures(data) == {"maria": 0}
    refused(override(data, "maria", "0002"), "PIN is wrong")
    refused(override(data, "MARIA", "0003"), "PIN is wrong")  # the same id however typed
    # The third wrong PIN in a row locks maria out; then even her right PIN is refused.
    refused(override(data, "maria", "0004"), "too many wrong PINs for maria")
    proc = override(data, "maria", "9999")
    refused(proc, "too many wrong PINs for maria: no override with this id until")
    assert ledger_size(data) == before
    # Another manager is not locked out by maria's lock.
    assert override(data, "nikos", "5555").returncode == 0
    if shutil.which("faketime") is None:
        pytest.skip("no faketime here to move the clock")
    refused(override(data, "maria", "9999", "faketime", "-f", "+9m"), "too many wrong PINs")
    later = override(data, "maria", "9999", "faketime", "-f", "+11m")
    assert later.returncode == 0, later.stderr
    assert failures(data)["maria"] == 0


def test_guesses_started_at_once_check_no_more_pins_than_the_limit(tmp_path: Path) -> None:
    data = make_till(tmp_path, CONFIG)
    env = {"PATH": "/usr/bin:/bin", "TILL_LANGUAGE": "en", "HOME": str(data.parent)}
    procs = [
        subprocess.Popen(
            [TILL, "--data-dir", str(data), *REDEEM, "--override-manager", "maria", *REASON],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env,
        )  # fmt: skip
        for _ in range(10)
    ]
    results = [p.communicate(f"{1000 + i}\n", timeout=120) for i, p in enumerate(procs)]
    wrong = [err for _, err in results if "PIN is wrong" in err]
    locked = [err for _, err in results if "too many wrong PINs for maria" in err]
    assert len(wrong) + len(locked) == 10, results
    assert len(wrong) <= 2  # the third checked PIN is the one that locks
    assert failures(data)["maria"] <= 3
    refused(override(data, "maria", "9999"), "too many wrong PINs for maria")
