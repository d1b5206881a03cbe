"""The command line's authority (issue 20, finding 6): `till sale --override-manager` needs a
configured manager and their PIN, and `--cashier` must be a configured cashier when the config
has cashiers. Real `till` processes on a real data dir; the PIN comes from a terminal (a pty),
TILL_MANAGER_PIN or one line of stdin. A refusal writes nothing."""

from __future__ import annotations

import json
import os
import select
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from terminal.auth import hash_pin

ROOT = Path(__file__).resolve().parents[2]
TILL = str(Path(sys.executable).with_name("till"))
CONFIG = f"""
cashier = "anna"
[cashiers.anna]
name = "Anna"
pin_hash = "{hash_pin("1234")}"
[cashiers.maria]
name = "Maria"
manager = true
pin_hash = "{hash_pin("9999")}"
"""
# M000002 has 5,000 points; the reward costs 1,800, over the 1,000 a member may redeem offline
# and under the 3,000 a manager may override.
REDEEM = ("sale", "--member", "M000002", "--total", "60.00", "--redeem", "twenty-off")


def run(
    data: Path, *argv: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {"PATH": "/usr/bin:/bin", "TILL_LANGUAGE": "en", "HOME": str(data.parent), **(env or {})}
    return subprocess.run(
        [TILL, "--data-dir", str(data), *argv],
        input=stdin, capture_output=True, text=True, timeout=60, env=full,
    )  # fmt: skip


def ledger_size(data: Path) -> int:
    with sqlite3.connect(data / "till.sqlite") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0])


def make_till(base: Path, config: str | None) -> Path:
    data = base / "data"
    proc = run(
        data, "init", "--terminal-id", "ATH01-T1",
        "--program", str(ROOT / "fixtures" / "program.toml"),
        "--members", str(ROOT / "fixtures" / "members.csv"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    if config is not None:
        (data / "config.toml").write_text(config, encoding="utf-8")
    return data


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_till(tmp_path, CONFIG)


def refused(proc: subprocess.CompletedProcess[str], words: str) -> None:
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    assert proc.stderr.count("\n") == 1 and words in proc.stderr, proc.stderr
    assert "9999" not in proc.stderr and "1234" not in proc.stderr


def test_an_override_needs_a_configured_manager_and_their_pin(data: Path) -> None:
    before = ledger_size(data)
    refused(run(data, *REDEEM), "offline")  # the policy refuses without an override
    override = ("--override-reason", "regular customer, network down")
    pin = {"TILL_MANAGER_PIN": "9999"}
    refused(run(data, *REDEEM, "--override-manager", "nobody", *override, env=pin), "refused")
    refused(  # a cashier who is no manager, with their own right PIN
        run(data, *REDEEM, "--override-manager", "anna", *override, stdin="1234\n"), "refused"
    )
    refused(run(data, *REDEEM, "--override-manager", "maria", *override, stdin="1111\n"), "wrong")
    refused(run(data, *REDEEM, "--override-manager", "maria", *override), "PIN")
    refused(run(data, *REDEEM, "--override-manager", "maria"), "reason")
    assert ledger_size(data) == before

    proc = run(data, *REDEEM, "--override-manager", "maria", *override, stdin="9999\n")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["redemption_mode"] == "override"
    proc = run(data, *REDEEM, "--override-manager", "maria", *override, env=pin)
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(data / "till.sqlite") as conn:
        approvers = conn.execute(
            "SELECT DISTINCT cashier_id FROM ledger WHERE kind = 'redeem'"
        ).fetchall()
    assert approvers == [("anna",)]


def test_the_pin_is_asked_for_without_echo_on_a_terminal(data: Path) -> None:
    master, slave = os.openpty()
    env = {"PATH": "/usr/bin:/bin", "TILL_LANGUAGE": "en", "HOME": str(data.parent)}
    proc = subprocess.Popen(
        [TILL, "--data-dir", str(data), *REDEEM, "--override-manager", "maria",
         "--override-reason", "regular"],
        stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        start_new_session=True,  # no controlling terminal but the pty on stdin
    )  # fmt: skip
    os.close(slave)
    assert proc.stderr is not None
    prompt = b""
    while b":" not in prompt:  # getpass flushes what was typed before it asked
        assert select.select([proc.stderr], [], [], 60)[0], prompt
        prompt += os.read(proc.stderr.fileno(), 256)
    os.write(master, b"9999\n")
    out, err = proc.communicate(timeout=60)
    err = prompt + err
    echoed = b""
    while select.select([master], [], [], 0.2)[0]:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        echoed += chunk
    os.close(master)
    assert proc.returncode == 0, err
    assert json.loads(out)["redemption_mode"] == "override"
    assert b"PIN of manager maria" in err
    assert b"9999" not in echoed + err + out


def test_the_cashier_must_be_configured(data: Path) -> None:
    before = ledger_size(data)
    refused(run(data, "sale", "--member", "M000003", "--total", "5.00", "--cashier", "mallory"),
            "cashier mallory is not configured")  # fmt: skip
    refused(run(data, "enroll", "--name", "Zoe", "--consent", "--cashier", "mallory"),
            "not configured")  # fmt: skip
    refused(run(data, "sale", "--member", "M000003", "--total", "5.00",
                env={"TILL_CASHIER": "cli"}), "cashier cli")  # fmt: skip
    assert ledger_size(data) == before
    proc = run(data, "sale", "--member", "M000003", "--total", "5.00")  # the config's: anna
    assert proc.returncode == 0, proc.stderr
    receipt = json.loads(proc.stdout)["receipt_no"]
    refused(run(data, "refund", "--receipt", receipt, "--cashier", "mallory"), "not configured")
    proc = run(data, "refund", "--receipt", receipt, "--cashier", "maria")
    assert proc.returncode == 0, proc.stderr


def test_without_cashiers_configured_no_override_is_possible(tmp_path: Path) -> None:
    data = make_till(tmp_path, None)
    before = ledger_size(data)
    proc = run(data, *REDEEM, "--override-manager", "nobody", "--override-reason", "x",
               env={"TILL_MANAGER_PIN": "0000"})  # fmt: skip
    refused(proc, "needs a manager configured")
    assert ledger_size(data) == before
    proc = run(data, "sale", "--member", "M000003", "--total", "5.00", "--cashier", "kim")
    assert proc.returncode == 0, proc.stderr  # any well-formed id, as before
