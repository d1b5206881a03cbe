"""Receipts: a Receipt document, its layout at 58/80 mm, text or raster rendering, ESC/POS output
through python-escpos, and a print queue that never loses a sale. Imports nothing else of ours.

The terminal's entry points::

    from printer import Printer, PrintQueue, Receipt, render, startup_check

    startup_check()                          # raqm + FriBiDi present, else PrinterError
    printer = Printer(os.environ.get("TILL_PRINTER", "dummy:"))   # tcp://..., usb://..., ...
    rendered = render(receipt, printer.profile)          # .data, .text, .png(), .mode
    queue = PrintQueue(db.conn)                          # the till's own writer connection
    queue.recover()                                      # at start-up: sending -> uncertain
    queue.enqueue(receipt)                               # inside the sale's transaction
    queue.process(printer, encoder(printer.profile))     # in the print worker

python-escpos is imported lazily (see printer._escpos), so importing this package is cheap and
has no side effects on logging or stdout.
"""

from __future__ import annotations

from collections.abc import Callable

from printer.device import Printer, PrinterSpec, Status, parse_printer
from printer.document import Align, Block, Code, Direction, Emphasis, Line, Receipt, Row, Separator
from printer.errors import PrinterError, Problem
from printer.escpos_stream import splice_before_cut
from printer.profile import PrinterProfile
from printer.queue import Job, JobState, PrintQueue
from printer.render import Mode, Rendered, render
from printer.shaping import check_shaping


def startup_check() -> None:
    """Fail loudly (PrinterError ``shaping_unavailable``) when raster text cannot be shaped."""
    check_shaping()


def encoder(profile: PrinterProfile, mode: Mode = Mode.AUTO) -> Callable[[Receipt], bytes]:
    """Receipt -> ESC/POS bytes for a printer, for :meth:`PrintQueue.process`."""

    def encode(receipt: Receipt) -> bytes:
        if receipt.passthrough_only:
            return receipt.passthrough
        data = render(receipt, profile, mode).data
        if receipt.passthrough:  # one piece of paper: ours before the POS's own cut
            return splice_before_cut(receipt.passthrough, data)
        return data

    return encode


__all__ = [
    "Align",
    "Block",
    "Code",
    "Direction",
    "Emphasis",
    "Job",
    "JobState",
    "Line",
    "Mode",
    "PrintQueue",
    "Printer",
    "PrinterError",
    "PrinterProfile",
    "PrinterSpec",
    "Problem",
    "Receipt",
    "Rendered",
    "Row",
    "Separator",
    "Status",
    "encoder",
    "parse_printer",
    "render",
    "startup_check",
]
