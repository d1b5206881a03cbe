"""till receipt NO: show a receipt as text, write it as a PNG, or print it (again).

The receipt is the one stored with its print job when there is one (exactly what was printed,
with the balances of that day); otherwise it is rebuilt from the sale record and the figures
stored with the sale. ``--print`` sends a job that never reached the printer, and otherwise
prints a copy marked as such, the first paper of a sale recorded without printing included: a
receipt printed after its sale is never an original.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from printer import (
    JobState,
    Printer,
    PrinterError,
    PrintQueue,
    encoder,
    render,
    startup_check,
)
from terminal.commands.common import open_till
from terminal.errors import CommandError
from terminal.i18n import translator
from terminal.printing import printer_for
from terminal.receipts import Shop, from_store, printer_problem

EXIT_FAILED = 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("receipt", help="show, print or reprint a receipt")
    p.add_argument("receipt_no", metavar="NO", help="the receipt number")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--text", action="store_true", help="the receipt as text (the default)")
    how.add_argument("--png", metavar="FILE", help="write the receipt as a PNG image")
    how.add_argument(
        "--print",
        dest="print_it",
        action="store_true",
        help="print it on the configured printer (a copy if it was printed before)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> dict[str, Any]:
    till, cfg = open_till(args)
    t = translator(cfg.language)
    try:
        try:
            startup_check()
            printer = printer_for(cfg)
        except PrinterError as exc:
            raise CommandError(
                "receipt.error.render_failed", EXIT_FAILED, problem=printer_problem(t, exc)
            ) from None
        queue = PrintQueue(till.db.conn, lock=till.db.lock)
        jobs = queue.jobs(args.receipt_no)
        if jobs:
            document = jobs[0].receipt
        else:
            now = dt.datetime.now(dt.UTC)
            document = from_store(till, args.receipt_no, Shop(cfg.shop_name, cfg.shop_address), now)
        if args.print_it:
            return _print(queue, printer, document, t)
        try:
            rendered = render(document, printer.profile)
            if args.png:
                try:
                    Path(args.png).write_bytes(rendered.png())
                except OSError as exc:
                    raise CommandError(
                        "receipt.error.png_write", path=args.png, detail=exc.strerror or str(exc)
                    ) from None
        except PrinterError as exc:
            raise CommandError(
                "receipt.error.render_failed", EXIT_FAILED, problem=printer_problem(t, exc)
            ) from None
        out: dict[str, Any] = {
            "receipt_no": document.receipt_no,
            "language": document.language,
            "mode": rendered.mode.value,
            "printer_model": printer.profile.model,
            "paper_mm": printer.profile.paper_mm,
        }
        if args.png:
            out.update(png=args.png, width=rendered.image.width, height=rendered.image.height)
        else:
            out["text"] = rendered.text
        return out
    finally:
        till.close()


def _print(queue: PrintQueue, printer: Printer, document: Any, t: Any) -> dict[str, Any]:
    jobs = queue.jobs(document.receipt_no)
    latest = jobs[-1] if jobs else None
    if latest is None:
        # Never queued (a sale recorded without printing): its first paper is a copy too,
        # the sale was made before.
        job = queue.reprint(document.receipt_no, document=document)
    elif latest.state is JobState.QUEUED:
        job = latest
    elif latest.state is JobState.FAILED and not latest.sent:
        job = queue.retry(latest.job_id)  # nothing of it reached the printer: same copy
    else:  # printed, uncertain, or failed half-way: a copy, marked as such
        job = queue.reprint(document.receipt_no)
    queue.process(printer, encoder(printer.profile))
    job = queue.job(job.job_id)
    if job.state is not JobState.PRINTED:
        problem = job.problem
        text = (
            printer_problem(t, PrinterError(problem, **job.problem_params))
            if problem
            else job.state.value
        )
        raise CommandError("receipt.error.print_failed", EXIT_FAILED, problem=text)
    return {
        "receipt_no": job.receipt_no,
        "job_id": job.job_id,
        "copy": job.copy,
        "state": job.state.value,
        "attempts": job.attempts,
    }
