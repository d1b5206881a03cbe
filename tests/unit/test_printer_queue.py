"""The print queue in a real SQLite file, printing to real dummy and file printers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from printer import (
    JobState,
    Line,
    Printer,
    PrinterError,
    PrintQueue,
    Problem,
    Receipt,
    encoder,
)


def receipt(no: str, text: str = "Total 12.50") -> Receipt:
    return Receipt(no, "en", "Receipt", (Line(text),), copy_banner="COPY", kick_drawer=True)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = sqlite3.connect(tmp_path / "till.sqlite")
    yield c
    c.close()


@pytest.fixture
def queue(conn: sqlite3.Connection) -> PrintQueue:
    return PrintQueue(conn)


def test_enqueue_is_idempotent(queue: PrintQueue) -> None:
    first = queue.enqueue(receipt("R-1"))
    again = queue.enqueue(receipt("R-1"))
    assert first.job_id == again.job_id
    assert len(queue.jobs()) == 1
    assert first.receipt == receipt("R-1")  # the document itself is stored


def test_enqueue_joins_the_sale_transaction(conn: sqlite3.Connection, queue: PrintQueue) -> None:
    conn.execute("CREATE TABLE sales (receipt_no TEXT PRIMARY KEY)")
    conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO sales VALUES ('R-1')")
    queue.enqueue(receipt("R-1"))
    conn.rollback()  # the sale failed: no orphan print job either
    assert queue.jobs() == []
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO sales VALUES ('R-2')")
    queue.enqueue(receipt("R-2"))
    conn.commit()
    assert [j.receipt_no for j in queue.jobs()] == ["R-2"]


def test_queue_writes_refuse_to_hide_inside_a_caller_transaction(
    conn: sqlite3.Connection, queue: PrintQueue
) -> None:
    queue.enqueue(receipt("R-1"))
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(RuntimeError):
        queue.claim_next()  # "sending" must be committed before bytes go out
    conn.rollback()


def test_jobs_print_in_order_once(queue: PrintQueue) -> None:
    printer = Printer("dummy:?model=TM-T20II")
    for no in ("R-1", "R-2", "R-3"):
        queue.enqueue(receipt(no))
    done = queue.process(printer, encoder(printer.profile))
    assert [(j.receipt_no, j.state) for j in done] == [
        (no, JobState.PRINTED) for no in ("R-1", "R-2", "R-3")
    ]
    assert queue.process(printer, encoder(printer.profile)) == []
    assert printer.output.count(b"Total 12.50") == 3
    assert all(j.printed_at for j in queue.jobs())


def test_reprints_are_numbered_copies(queue: PrintQueue) -> None:
    printer = Printer("dummy:?model=TM-T20II")
    queue.enqueue(receipt("R-1"))
    queue.process(printer, encoder(printer.profile))
    one, two = queue.reprint("R-1"), queue.reprint("R-1", banner="DUPLICATE")
    assert (one.copy, two.copy) == (1, 2)
    assert (one.receipt.copy_banner, two.receipt.copy_banner) == ("COPY", "DUPLICATE")
    queue.process(printer, encoder(printer.profile))
    assert printer.output.count(b"COPY") == 1 and printer.output.count(b"DUPLICATE") == 1
    assert printer.output.count(b"\x1bp") == 1  # only the sale opened the drawer
    with pytest.raises(PrinterError) as err:
        queue.reprint("R-404")
    assert err.value.problem is Problem.NO_SUCH_JOB


def test_a_receipt_that_cannot_render_fails_alone(queue: PrintQueue) -> None:
    printer = Printer("dummy:?model=TM-T20II")
    queue.enqueue(receipt("R-1", "日本"))  # no font we ship has these
    queue.enqueue(receipt("R-2"))
    bad, good = queue.process(printer, encoder(printer.profile))
    assert (bad.state, bad.problem, bad.sent) == (
        JobState.FAILED,
        Problem.UNSUPPORTED_CHARACTER,
        False,
    )
    assert bad.problem_params["codepoint"] == "U+65E5"
    assert good.state is JobState.PRINTED
    assert queue.process(printer, encoder(printer.profile)) == []  # not retried in a loop


def test_only_failed_jobs_can_be_retried_and_only_uncertain_ones_resolved(
    queue: PrintQueue,
) -> None:
    job = queue.enqueue(receipt("R-1"))
    with pytest.raises(PrinterError) as err:
        queue.retry(job.job_id)
    assert err.value.problem is Problem.JOB_NOT_RETRYABLE
    with pytest.raises(PrinterError):
        queue.resolve(job.job_id, printed=True)
    queue.claim_next()
    (uncertain,) = queue.recover()
    assert queue.resolve(uncertain.job_id, printed=True).state is JobState.PRINTED
    with pytest.raises(PrinterError) as missing:
        queue.job(999)
    assert missing.value.problem is Problem.NO_SUCH_JOB


def test_an_uncertain_job_the_cashier_says_did_not_print_is_sent_again(
    queue: PrintQueue, tmp_path: Path
) -> None:
    out = tmp_path / "lp0"
    out.touch()
    printer = Printer(f"file://{out}?model=TM-T20II")
    queue.enqueue(receipt("R-1"))
    queue.claim_next()
    (job,) = queue.recover()
    assert queue.process(printer, encoder(printer.profile)) == []
    assert out.read_bytes() == b""
    queue.resolve(job.job_id, printed=False)
    (done,) = queue.process(printer, encoder(printer.profile))
    assert done.state is JobState.PRINTED and done.copy == 0
    assert out.read_bytes().count(b"Total 12.50") == 1


def test_schema_is_created_once_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite"
    with sqlite3.connect(path) as c:
        PrintQueue(c).enqueue(receipt("R-1"))
    c.close()
    c = sqlite3.connect(path)
    try:
        assert [j.receipt_no for j in PrintQueue(c).jobs()] == ["R-1"]
    finally:
        c.close()
