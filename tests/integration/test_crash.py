"""A power cut between two statements: the till process is SIGKILLed at every statement of a
sale in turn. Afterwards the file passes integrity_check, every sale the process reported as done
is there exactly once with all its entries, no half sale exists, and seq has no gap."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loyalty import ledger
from loyalty.till import Till
from tests.conftest import NOW

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import datetime as dt, os, signal, sys
    from loyalty import sales
    from loyalty.rules import BasketLine
    from loyalty.till import Till

    folder, kill_at = sys.argv[1], int(sys.argv[2])
    now = dt.datetime.fromisoformat(sys.argv[3])  # the fixture's clock, not the wall clock
    till = Till.open(folder)
    count = 0
    def trace(sql):
        global count
        count += 1
        if count == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    for i in range(3):
        if i == 1:
            till.db.conn.set_trace_callback(trace)   # crash somewhere in the second sale
        req = sales.SaleRequest("M000001", "anna", (BasketLine("A", "fresh", 2500),
                                BasketLine("B", "deli", 1000)), reward_id="food-bank")
        r = sales.sale(till, req, now)
        print(r.receipt_no, len(r.entries), flush=True)
    """
)


def _run(folder: Path, kill_at: int) -> tuple[int, list[tuple[str, int]]]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), str(kill_at), NOW.isoformat()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    done = [(line.split()[0], int(line.split()[1])) for line in proc.stdout.splitlines()]
    return proc.returncode, done


@pytest.fixture
def seeded(till: Till) -> Path:
    folder = Path(till.db.path).parent
    till.close()
    return folder


def test_a_kill_at_any_statement_leaves_the_whole_sale_or_none(seeded: Path) -> None:
    snapshot = seeded / "till.sqlite"
    pristine = snapshot.read_bytes()
    killed = 0
    kill_at = 1
    while True:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{snapshot}{suffix}").unlink(missing_ok=True)
        snapshot.write_bytes(pristine)
        code, done = _run(seeded, kill_at)
        _check(seeded, done)
        if code == 0:
            break  # kill_at is past the last statement of the sale: every point was tried
        assert code == -signal.SIGKILL
        killed += 1
        kill_at += 1
    assert killed >= 8, "the sale should span several statements"


def _check(folder: Path, done: list[tuple[str, int]]) -> None:
    till = Till.open(folder)
    try:
        conn = till.db.conn
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for receipt_no, n_entries in done:
            rows = conn.execute("SELECT COUNT(*) FROM sales WHERE receipt_no = ?", (receipt_no,))
            assert rows.fetchone()[0] == 1
            assert len(till.receipt_entries(receipt_no)) == n_entries
        # No half sale: every sale has its entries, every entry its sale.
        orphans = conn.execute(
            "SELECT COUNT(*) FROM ledger l LEFT JOIN sales s ON s.receipt_no = l.receipt_no "
            "WHERE l.receipt_no IS NOT NULL AND s.receipt_no IS NULL"
        ).fetchone()[0]
        empty = conn.execute(
            "SELECT COUNT(*) FROM sales s WHERE NOT EXISTS "
            "(SELECT 1 FROM ledger l WHERE l.receipt_no = s.receipt_no)"
        ).fetchone()[0]
        assert (orphans, empty) == (0, 0)
        assert ledger.verify_chain(conn, "ATH01-T1") is None
        counter = int(till.db.meta("receipts_issued") or "0")
        assert counter == conn.execute("SELECT COUNT(*) FROM sales").fetchone()[0]
    finally:
        till.close()
    assert os.path.exists(folder / "till.sqlite")
