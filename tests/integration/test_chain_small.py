"""A tiny chain's night against a real PostgreSQL: bench/chain.py with 5 tills x 200 sales,
head office as real server processes, real HTTP pushes (gzip, Idempotency-Key, each till's
own token), every till resending its first batch after its last. The bench itself checks
every entry is stored exactly once (rows, distinct entry ids, distinct (till, seq), each
till's last seq) and fails otherwise; this test checks what it reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sync.testing import postgres_bin

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL is not installed"),
]


@pytest.mark.parametrize("partitions", [0, 4])
def test_every_entry_stored_exactly_once(partitions: int) -> None:
    cmd = [sys.executable, str(ROOT / "bench" / "chain.py"), "--tills", "5", "--sales", "200",
           "--members", "2000", "--window", "1", "--servers", "2", "--concurrency", "5",
           "--batch", "150", "--partitions", str(partitions), "--replay", "--json"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["sales"] == 5 * 200
    assert report["entries"] > report["sales"]  # earn plus bonuses and redemptions
    assert report["stored"] == report["verified_rows"] == report["entries"]
    assert report["duplicates"] == 0 and report["replays"] == 5
    assert report["pushes"] >= report["entries"] / 150  # several batches per till
