"""The real `till` command under a shifted clock (Debian's faketime): the till applies the
program's calendar on its own clock. Piotr qualified for oak with EUR 600 in 2026; on
2 January 2027 the till shows him olive again and earns at olive's rate, with no sync."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKETIME = shutil.which("faketime")

pytestmark = pytest.mark.skipif(FAKETIME is None, reason="faketime is not installed")


def till_at(when: str, data: Path, *args: str) -> Any:
    till_bin = Path(sys.executable).with_name("till")
    env = {
        "TILL_DATA_DIR": str(data), "TILL_LANGUAGE": "en", "PATH": os.environ.get("PATH", ""),
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }  # fmt: skip
    assert FAKETIME is not None
    out = subprocess.run(
        [FAKETIME, when, str(till_bin), *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_a_tier_lapses_at_new_year_on_the_till_own_clock(tmp_path: Path) -> None:
    data = tmp_path / "till"
    till_at(
        "2026-06-01 10:00:00", data, "init", "--terminal-id", "WAW01-T1",
        "--program", str(ROOT / "fixtures" / "program.toml"),
        "--members", str(ROOT / "fixtures" / "members.csv"),
    )  # fmt: skip
    december = till_at("2026-12-31 12:00:00", data, "balance", "M000002")
    assert (december["tier"], december["tier_progress"]) == ("oak", 60000)
    january = till_at("2027-01-02 12:00:00", data, "balance", "M000002")
    assert (january["tier"], january["provisional_tier"], january["tier_progress"]) == (
        "olive", "olive", 0,
    )  # fmt: skip
    sale = till_at("2027-01-02 12:05:00", data, "sale", "--member", "M000002", "--total", "30.00")
    assert [line["reason"] for line in sale["earned"]] == ["base"]  # no oak bonus
    after = till_at("2027-01-02 12:06:00", data, "balance", "M000002")
    assert (after["tier"], after["tier_progress"]) == ("olive", 3000)
