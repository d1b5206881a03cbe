"""A real TCP printer on 127.0.0.1: what reached it, and how the queue recovered."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from printer import (
    JobState,
    Printer,
    PrinterError,
    PrintQueue,
    Problem,
    Receipt,
    Status,
    encoder,
    render,
)
from printer.raster import decode_raster
from tests.printer_server import COVER_OPEN, PAPER_OUT, READY, FakeNetworkPrinter

RECEIPTS = Path(__file__).resolve().parents[2] / "fixtures" / "receipts"


def sample(lang: str, no: str | None = None) -> Receipt:
    r = Receipt.from_json((RECEIPTS / f"{lang}.json").read_text(encoding="utf-8"))
    if no:
        from dataclasses import replace

        r = replace(r, receipt_no=no)
    return r


@pytest.fixture
def server() -> Iterator[FakeNetworkPrinter]:
    s = FakeNetworkPrinter()
    yield s
    s.close()


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[PrintQueue]:
    conn = sqlite3.connect(tmp_path / "till.sqlite")
    conn.execute("PRAGMA journal_mode=WAL")
    yield PrintQueue(conn)
    conn.close()


def test_a_receipt_reaches_the_printer_byte_for_byte(server: FakeNetworkPrinter) -> None:
    printer = Printer(server.url)
    rendered = render(sample("el"), printer.profile)
    assert printer.print_job(rendered.data) is Status.READY
    assert server.jobs == [rendered.data]
    # It asked for the status before and after the job.
    assert server.connections[-1].status_requests == [1, 4, 4]


def test_raster_bytes_that_reached_the_printer_decode_to_the_preview(
    server: FakeNetworkPrinter,
) -> None:
    printer = Printer(server.url)
    rendered = render(sample("fa"), printer.profile)
    printer.print_job(rendered.data)
    (job,) = server.jobs
    received = decode_raster(job)
    assert received.width <= printer.profile.dots
    assert received.crop((0, 0) + rendered.image.size).tobytes() == rendered.image.tobytes()


def test_status_reports_paper_out_and_cover_open_never_a_guess(
    server: FakeNetworkPrinter,
) -> None:
    printer = Printer(server.url)
    assert printer.status() is Status.READY
    server.condition = PAPER_OUT
    assert printer.status() is Status.OUT_OF_PAPER
    server.condition = COVER_OPEN
    assert printer.status() is Status.COVER_OPEN
    server.stall_after = 0  # stops answering: unknown, not "paper OK" like escpos says
    assert printer.status() is Status.UNKNOWN
    server.refuse()
    assert printer.status() is Status.OFFLINE


def test_offline_printer_keeps_the_job_and_prints_it_once_it_is_back(
    server: FakeNetworkPrinter, queue: PrintQueue
) -> None:
    printer = Printer(server.url)
    server.refuse()
    queue.enqueue(sample("en", "R-1"))
    queue.enqueue(sample("pl", "R-2"))
    (failed,) = queue.process(printer, encoder(printer.profile))
    assert (failed.state, failed.problem, failed.sent) == (JobState.FAILED, Problem.OFFLINE, False)
    assert [j.state for j in queue.jobs()] == [JobState.FAILED, JobState.QUEUED]

    server.listen()  # printer back, same port
    done = queue.process(printer, encoder(printer.profile))
    assert [(j.receipt_no, j.state) for j in done] == [
        ("R-1", JobState.PRINTED),
        ("R-2", JobState.PRINTED),
    ]
    assert len(server.jobs) == 2  # each sale printed exactly once
    assert queue.job(done[0].job_id).attempts == 2


def test_paper_out_is_reported_before_sending_and_retried_when_paper_is_in(
    server: FakeNetworkPrinter, queue: PrintQueue
) -> None:
    printer = Printer(server.url)
    server.condition = PAPER_OUT
    queue.enqueue(sample("en", "R-1"))
    (job,) = queue.process(printer, encoder(printer.profile))
    assert (job.problem, job.sent) == (Problem.OUT_OF_PAPER, False)
    assert server.jobs == []  # not a byte of the receipt went out
    server.condition = READY
    (job,) = queue.process(printer, encoder(printer.profile))
    assert job.state is JobState.PRINTED
    assert len(server.jobs) == 1


def test_a_dropped_connection_mid_job_is_not_resent_on_its_own(
    server: FakeNetworkPrinter, queue: PrintQueue
) -> None:
    printer = Printer(server.url)
    server.drop_after = 3000  # of a ~78 kB raster receipt
    queue.enqueue(sample("th", "R-1"))
    (job,) = queue.process(printer, encoder(printer.profile))
    assert job.state is JobState.FAILED
    assert job.problem in (Problem.FAILED_MID_JOB, Problem.TIMEOUT)
    assert job.sent
    server.drop_after = None
    assert queue.process(printer, encoder(printer.profile)) == []  # not retried automatically
    assert queue.retry(job.job_id).state is JobState.QUEUED  # the cashier asks
    (again,) = queue.process(printer, encoder(printer.profile))
    assert again.state is JobState.PRINTED
    assert server.jobs[-1] == render(sample("th", "R-1"), printer.profile).data


def test_a_stalled_printer_times_out_and_the_queue_goes_on_after_it(
    server: FakeNetworkPrinter, queue: PrintQueue
) -> None:
    printer = Printer(server.url)
    server.stall_after = 0
    queue.enqueue(sample("en", "R-1"))
    (job,) = queue.process(printer, encoder(printer.profile))
    assert (job.problem, job.sent) == (Problem.TIMEOUT, False)
    server.stall_after = 500  # takes part of the 1.2 kB job, then stops
    (job,) = queue.process(printer, encoder(printer.profile))
    assert (job.problem, job.sent) == (Problem.TIMEOUT, True)
    server.stall_after = None
    server.close()
    fresh = FakeNetworkPrinter()
    try:
        printer = Printer(fresh.url)
        queue.retry(job.job_id)
        (job,) = queue.process(printer, encoder(printer.profile))
        assert job.state is JobState.PRINTED
        assert len(fresh.jobs) == 1
    finally:
        fresh.close()


def test_a_crash_while_sending_leaves_an_uncertain_job_that_is_reprinted_as_a_copy(
    server: FakeNetworkPrinter, tmp_path: Path
) -> None:
    path = tmp_path / "till.sqlite"
    conn = sqlite3.connect(path)
    q = PrintQueue(conn)
    q.enqueue(sample("el", "R-9"))
    claimed = q.claim_next()  # the worker marked it sending ... and the till lost power
    assert claimed is not None
    conn.close()

    conn = sqlite3.connect(path)
    q = PrintQueue(conn)
    (uncertain,) = q.recover()
    assert uncertain.state is JobState.UNCERTAIN
    printer = Printer(server.url)
    assert q.process(printer, encoder(printer.profile)) == []  # never re-sent on its own
    copy = q.reprint("R-9")
    assert copy.copy == 1 and copy.receipt.copy == 1 and not copy.receipt.kick_drawer
    (done,) = q.process(printer, encoder(printer.profile))
    assert done.state is JobState.PRINTED
    assert len(server.jobs) == 1
    assert "ΑΝΤΙΓΡΑΦΟ".encode("cp737") in server.jobs[0]  # the copy says so
    conn.close()


def test_drawer_kick_goes_with_the_sale_not_with_reprints(server: FakeNetworkPrinter) -> None:
    printer = Printer(server.url)
    kick = b"\x1bp\x00"
    original = sample("en")
    assert original.kick_drawer
    printer.print_job(render(original, printer.profile).data)
    printer.print_job(render(original.as_copy(1), printer.profile).data)
    first, second = server.jobs
    assert kick in first and kick not in second


def test_bad_url_and_missing_driver_are_codes() -> None:
    with pytest.raises(PrinterError) as bad:
        Printer("tcp://")
    assert bad.value.problem is Problem.BAD_PRINTER_URL
    with pytest.raises(PrinterError) as zero:
        Printer("usb://04b8:0202?timeout=0")
    assert zero.value.params["reason"] == "usb_timeout_zero"
