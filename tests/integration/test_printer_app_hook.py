"""terminal/printing.py as the app's printer hook: TillServices sells, refunds, enrols and closes
the day; the background worker prints to a real TCP printer on 127.0.0.1, reports each job, and
retries what never reached a printer that was off."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest
from terminal import config as config_mod
from terminal.app.services import TillServices
from terminal.cli import main
from terminal.i18n import translator
from terminal.printing import ReceiptPrinter
from tests.printer_server import FakeNetworkPrinter

ROOT = Path(__file__).resolve().parents[2]


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, bool, str]] = []
        self.cond = threading.Condition()

    def __call__(self, receipt_no: str, printed: bool, state: str) -> None:
        with self.cond:
            self.seen.append((receipt_no, printed, state))
            self.cond.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[tuple[str, bool, str]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.seen) >= n, timeout), self.seen
            return list(self.seen)


@pytest.fixture
def server() -> Iterator[FakeNetworkPrinter]:
    s = FakeNetworkPrinter()
    yield s
    s.close()


@pytest.fixture
def services(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: FakeNetworkPrinter
) -> Iterator[tuple[TillServices, Events]]:
    monkeypatch.setenv("TILL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TILL_PRINTER", server.url)
    monkeypatch.delenv("TILL_CONFIG", raising=False)
    assert (
        main(
            [
                "init",
                "--terminal-id",
                "ATH01-T1",
                "--program",
                str(ROOT / "fixtures/program.toml"),
                "--members",
                str(ROOT / "fixtures/members.csv"),
            ]  # fmt: skip
        )
        == 0
    )
    cfg = config_mod.load()
    from loyalty.till import Till

    till = Till.open(cfg.data_dir)
    events = Events()
    hook = ReceiptPrinter(till, cfg, on_event=events, retry_every=0.2)
    s = TillServices(till=till, config=cfg, cashiers={}, printer=hook)
    yield s, events
    s.close()


def basket() -> tuple[BasketLine, ...]:
    return (BasketLine("OIL", "grocery", 2490), BasketLine("FIG", "fresh", 2200))


def test_a_sale_prints_in_the_members_language_and_opens_the_drawer(
    services: tuple[TillServices, Events], server: FakeNetworkPrinter
) -> None:
    s, events = services
    result = s.sell(SaleRequest("M000001", "anna", basket()))
    assert events.wait_for(1) == [(result.receipt_no, True, "ready")]
    (job,) = server.jobs
    assert translator("el")("receipt.title.sale").encode("cp737") in job
    assert b"\x1bp\x00" in job  # drawer kick with the sale


def test_an_offline_printer_is_reported_and_the_receipt_printed_when_it_is_back(
    services: tuple[TillServices, Events], server: FakeNetworkPrinter
) -> None:
    s, events = services
    server.refuse()
    result = s.sell(SaleRequest("M000006", "anna", basket()))  # Persian: raster
    assert events.wait_for(1)[0] == (result.receipt_no, False, "offline")
    server.listen()
    seen = events.wait_for(2)
    assert (result.receipt_no, True, "ready") in seen
    assert len(server.jobs) == 1  # printed once, as the original


def test_refund_welcome_reprint_and_end_of_day(
    services: tuple[TillServices, Events], server: FakeNetworkPrinter
) -> None:
    s, events = services
    sale = s.sell(SaleRequest("M000003", "anna", basket()))
    refund = s.refund(sale.receipt_no, "anna", None)
    enrolment = s.enrol("Άννα", "anna", "el", None, None)
    copy = s.reprint(sale.receipt_no)
    report = s.day_report()
    hook = s.printer
    assert isinstance(hook, ReceiptPrinter)
    hook.enqueue_day_report(report)
    hook.enqueue_day_report(report)  # printed again: a copy, never a silent no-op
    seen = events.wait_for(6)  # sale, refund, welcome, reprint, day report and its copy
    assert all(printed for _, printed, _ in seen)
    assert copy == f"{sale.receipt_no}#1"
    nos = [no for no, _, _ in seen]
    assert nos.count(sale.receipt_no) == 2 and refund.receipt_no in nos
    assert f"ENROL-{enrolment.card_number}" in nos
    assert nos.count(f"DAY-ATH01-T1-{report.day.isoformat()}") == 2
    assert len(server.jobs) == 6


def test_the_first_paper_of_a_sale_recorded_without_printing_is_a_copy(
    services: tuple[TillServices, Events], server: FakeNetworkPrinter
) -> None:
    """A sale recorded without a print job (``till sale`` without ``--print``): the cashier's
    reprint is marked as a copy and opens no drawer; so is the next one."""
    from loyalty.sales import sale

    s, events = services
    result = sale(s.till, SaleRequest("M000001", "anna", basket()))  # Greek: text mode
    assert s.reprint(result.receipt_no) == f"{result.receipt_no}#1"
    assert s.reprint(result.receipt_no) == f"{result.receipt_no}#2"
    assert events.wait_for(2) == [(result.receipt_no, True, "ready")] * 2
    banner = translator("el")("receipt.copy").encode("cp737")
    title = translator("el")("receipt.title.sale").encode("cp737")
    assert len(server.jobs) == 2
    for job in server.jobs:
        assert banner in job and title in job
        assert b"\x1bp" not in job  # a copy never opens the drawer
