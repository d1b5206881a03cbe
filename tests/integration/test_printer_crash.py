"""The till process dies (SIGKILL) while a receipt is going to a real TCP printer: afterwards
the job is 'uncertain', is not sent again on its own, and a reprint is a marked copy."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from printer import JobState, Printer, PrintQueue, Receipt, encoder
from tests.printer_server import FakeNetworkPrinter

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sqlite3, sys
    from pathlib import Path
    from printer import Printer, PrintQueue, Receipt, encoder

    db, url, sample = sys.argv[1:4]
    conn = sqlite3.connect(db)
    queue = PrintQueue(conn)
    queue.enqueue(Receipt.from_json(Path(sample).read_text(encoding="utf-8")))
    printer = Printer(url)
    print("sending", flush=True)
    queue.process(printer, encoder(printer.profile))   # blocks: the printer stops reading
    print("finished", flush=True)
    """
)


def test_killed_mid_job_leaves_an_uncertain_job_never_resent_on_its_own(tmp_path: Path) -> None:
    server = FakeNetworkPrinter()
    try:
        server.stall_after = 20_000  # takes part of a ~78 kB raster receipt, then stalls
        db = tmp_path / "till.sqlite"
        url = server.url.replace("timeout=0.5", "timeout=30")
        sample = ROOT / "fixtures" / "receipts" / "th.json"
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db), url, str(sample)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "sending"
        deadline = time.monotonic() + 10
        while sum(map(len, server.jobs)) < 19_000 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sum(map(len, server.jobs)) >= 19_000  # a quarter of a receipt is on the paper
        os.kill(child.pid, signal.SIGKILL)  # power cut
        child.wait(10)
        assert child.stdout.read() == ""  # it never finished
        child.stdout.close()

        server.stall_after = None
        conn = sqlite3.connect(db)
        try:
            queue = PrintQueue(conn)
            (job,) = queue.jobs()
            assert job.state is JobState.SENDING  # as the dead process left it
            (uncertain,) = queue.recover()  # at start-up
            assert uncertain.state is JobState.UNCERTAIN
            printer = Printer(server.url)
            before = len(server.connections)
            assert queue.process(printer, encoder(printer.profile)) == []
            assert len(server.connections) == before  # not even a connection: nothing resent
            copy = queue.reprint(job.receipt_no)  # the cashier decides
            (done,) = queue.process(printer, encoder(printer.profile))
            assert (done.job_id, done.copy, done.state) == (copy.job_id, 1, JobState.PRINTED)
            assert json.loads(done.receipt.to_json())["copy"] == 1
            assert Receipt.from_json(done.receipt.to_json()).copy_banner in done.receipt.texts()
        finally:
            conn.close()
    finally:
        server.close()
