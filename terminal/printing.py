"""The till's printer: receipts built in the member's language, queued in the till's own file and
printed by one background worker. This is the ``printer`` hook of ``TillServices``
(``enqueue_sale``, ``enqueue_refund``, ``enqueue_welcome``, ``enqueue_day_report``, ``reprint``,
``close``). It imports no UI: the app passes ``on_event`` and turns the calls into messages
(``ReceiptPrinted``, ``PrintFailed``) with ``call_from_thread``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable

from loyalty.refunds import RefundResult
from loyalty.reports import DayReport
from loyalty.sales import SaleResult
from loyalty.till import Enrolment, Till
from printer import (
    Job,
    JobState,
    Printer,
    PrinterError,
    PrintQueue,
    Receipt,
    encoder,
    parse_printer,
    startup_check,
)
from terminal.config import Config
from terminal.receipts import (
    Shop,
    from_day_report,
    from_enrolment,
    from_refund,
    from_sale,
    from_store,
)

log = logging.getLogger(__name__)

# The states the app's status bar knows (app.device.<state>); other problems show as "error".
DEVICE_STATES = {"offline", "out_of_paper", "cover_open", "failed_mid_job", "timeout"}

# on_event(receipt_no, printed, state): state is "ready" or a printer problem code.
OnEvent = Callable[[str, bool, str], None]


def printer_for(cfg: Config) -> Printer:
    """The configured printer; model and paper from the config unless the printer string
    names them (``?model=...&paper=...``)."""
    spec = parse_printer(cfg.printer)
    if "model=" not in cfg.printer:
        spec = dataclasses.replace(spec, model=cfg.printer_profile)
    if "paper=" not in cfg.printer:
        spec = dataclasses.replace(spec, paper_mm=cfg.paper_mm)
    return Printer(spec)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ReceiptPrinter:
    """Queue receipts from any thread; one worker prints them in order.

    At start-up it checks that raster text can be shaped (PrinterError otherwise) and turns jobs
    a crash left half-sent into ``uncertain`` ones (:attr:`uncertain`), which it never resends:
    the cashier reprints them as copies or confirms them with :meth:`resolve`. A job whose bytes
    never reached the printer (offline, out of paper, cover open) is retried every
    ``retry_every`` seconds and whenever a new receipt is queued.
    """

    def __init__(
        self,
        till: Till,
        config: Config,
        printer: Printer | None = None,
        on_event: OnEvent | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
        retry_every: float = 10.0,
        start: bool = True,
    ) -> None:
        startup_check()
        self.till = till
        self.config = config
        self.printer = printer or printer_for(config)
        self.shop = Shop(config.shop_name, config.shop_address)
        self.on_event = on_event
        self.clock = clock
        self.retry_every = retry_every
        self.queue = PrintQueue(till.db.conn, clock=clock, lock=till.db.lock)
        self.uncertain: list[Job] = self.queue.recover()
        self._encode = encoder(self.printer.profile)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="receipt-printer", daemon=True)
        if start:
            self._thread.start()

    # -- the hooks TillServices calls -----------------------------------------------------------

    def _cashier(self, receipt_no: str) -> str:
        return str(self.till.sale_record(receipt_no)["cashier_id"])

    def enqueue_sale(self, result: SaleResult) -> Job:
        receipt = from_sale(result, self._cashier(result.receipt_no), self.till, self.shop)
        return self._enqueue(receipt)

    def enqueue_refund(self, result: RefundResult) -> Job:
        receipt = from_refund(result, self._cashier(result.receipt_no), self.till, self.shop)
        return self._enqueue(receipt)

    def enqueue_welcome(self, enrolment: Enrolment) -> Job:
        balance = self.till.balance(enrolment.member.member_id, self.clock())
        cashier = enrolment.entries[0].cashier_id if enrolment.entries else ""
        receipt = from_enrolment(enrolment, balance, cashier, self.till, self.shop, self.clock())
        return self._enqueue(receipt)

    def enqueue_day_report(self, report: DayReport) -> Job:
        receipt = from_day_report(
            report, self.till.program, self.shop, self.config.language, self.clock()
        )
        if self.queue.jobs(receipt.receipt_no):
            return self._reprint(receipt.receipt_no)  # printed again: a copy
        return self._enqueue(receipt)

    def enqueue_document(self, receipt: Receipt) -> Job:
        """A receipt built elsewhere (the printer bridge: the POS's bytes and the loyalty block)."""
        return self._enqueue(receipt)

    def reprint(self, receipt_no: str) -> str:
        """Any receipt again, always a marked copy: of what was queued, or, for a sale that
        never had a print job (e.g. made with ``till sale``), of the receipt rebuilt from the
        sale (the sale was made before: its first paper is not an original either)."""
        rebuilt = None
        if not self.queue.jobs(receipt_no):
            rebuilt = from_store(self.till, receipt_no, self.shop, self.clock())
        return f"{receipt_no}#{self._reprint(receipt_no, rebuilt).copy}"

    def preview(self, receipt_no: str) -> str:
        """The receipt as the printer gets it, as text (for the till screen and the demo)."""
        from printer import render

        jobs = self.queue.jobs(receipt_no)
        receipt = (
            jobs[-1].receipt if jobs else from_store(self.till, receipt_no, self.shop, self.clock())
        )
        return render(receipt, self.printer.profile).text

    def resolve(self, job_id: int, printed: bool) -> Job:
        """The cashier's answer for an uncertain job: it printed, or send it again."""
        job = self.queue.resolve(job_id, printed)
        self.uncertain = [j for j in self.uncertain if j.job_id != job_id]
        self._wake.set()
        return job

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    # -- the worker -----------------------------------------------------------------------------

    def _enqueue(self, receipt: Receipt) -> Job:
        job = self.queue.enqueue(receipt)
        self._wake.set()
        return job

    def _reprint(self, receipt_no: str, document: Receipt | None = None) -> Job:
        job = self.queue.reprint(receipt_no, document=document)
        self._wake.set()
        return job

    def process_now(self) -> list[Job]:
        """Print what is queued (the worker calls this; tests and `till` may call it directly)."""
        done = self.queue.process(self.printer, self._encode, retry_unsent=True)
        for job in done:
            if self.on_event is None:
                continue
            if job.state is JobState.PRINTED:
                self.on_event(job.receipt_no, True, "ready")
            else:
                code = job.problem.value if job.problem else "error"
                self.on_event(job.receipt_no, False, code if code in DEVICE_STATES else "error")
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.retry_every)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.process_now()
            except PrinterError as exc:  # e.g. a bad printer string: report, keep the queue
                log.warning("print worker: %s %s", exc.problem.value, exc.params)
            except Exception:  # never let the worker die with receipts in the queue
                log.exception("print worker failed; the jobs stay queued")
