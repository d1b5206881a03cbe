"""The receipt-printer bridge: a TCP listener (port 9100, as a network receipt printer) that a
shop's POS prints to. Each receipt it gets is read (printer.escpos_stream, printer.pos_receipt);
when it is for a member (one identified at the till a moment ago, or a member code printed on
it) the sale is recorded once (the POS's receipt number, else the bytes' digest, is its POS
id) and the loyalty block is added under it. Everything goes to the real printer through the
till's print queue, the POS's bytes unchanged, with the loyalty block spliced in before the
POS's own cut (printer.escpos_stream ``splice_before_cut``): a receipt the bridge cannot read, or
whose sale is refused, is forwarded untouched and the cashier is told (``on_notice``).

Settings, in the till's config file::

    [printer_bridge]
    enabled = true
    host = "0.0.0.0"          # where the POS reaches it (default 127.0.0.1)
    port = 9100
    profile = "generic"       # or "odoo"; patterns below replace the profile's
    # total = '^TOTAL\\s+(?P<amount>...)'   line = ...   receipt_id = ...   member = ...
    code_page = 0             # the POS's code page before it selects one (ESC t)
    member_window_s = 180     # how long a member identified at the till waits for a receipt
    lanes = "shared"          # or "by_address": one member per POS address (two lanes, one till)
    idle_s = 1.0              # a receipt ends when the POS closes or pauses this long
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import logging
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loyalty.errors import LoyaltyError
from printer import Receipt
from printer.escpos_stream import (
    READY_STATUS,
    printer_code_pages,
    scan,
    without_status_requests,
)
from printer.pos_receipt import PosReceipt, ReceiptPatterns, patterns_for, read_receipt
from terminal import receipts
from terminal.errors import CommandError
from terminal.i18n import translator
from terminal.pos import wire
from terminal.pos.events import PosReceiptPassed, passed_text
from terminal.pos.presence import DEFAULT_WINDOW_S
from terminal.pos.service import PosService
from terminal.printing import ReceiptPrinter
from terminal.scanning import ScanRefusedError

log = logging.getLogger(__name__)
MAX_RECEIPT = 4 * 1024 * 1024  # beyond this a stream is forwarded as it comes, unread
PATTERN_KEYS = ("total", "line", "receipt_id", "member")


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9100
    profile: str = "generic"
    patterns: tuple[tuple[str, str], ...] = ()
    code_page: int = 0
    member_window_s: float = DEFAULT_WINDOW_S
    idle_s: float = 1.0
    lanes: str = "shared"

    @classmethod
    def from_raw(cls, raw: Any) -> BridgeSettings:
        raw = raw if isinstance(raw, dict) else {}
        return cls(
            bool(raw.get("enabled", False)), str(raw.get("host", "127.0.0.1")),
            int(raw.get("port", 9100)), str(raw.get("profile", "generic")),
            tuple((k, str(raw[k])) for k in PATTERN_KEYS if k in raw),
            int(raw.get("code_page", 0)), float(raw.get("member_window_s", DEFAULT_WINDOW_S)),
            float(raw.get("idle_s", 1.0)),
            "by_address" if raw.get("lanes") == "by_address" else "shared",
        )  # fmt: skip

    def receipt_patterns(self) -> ReceiptPatterns:
        return patterns_for(self.profile, dict(self.patterns))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the bridge did with one receipt."""

    forwarded: bool  # queued for the printer (always, unless the queue itself failed)
    receipt_no: str | None  # the till's sale, when one was recorded or found
    problem: str | None  # why no loyalty block was added, when one could not be


Notice = Callable[[str], None]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PrinterBridge:
    def __init__(
        self,
        service: PosService,
        printer: ReceiptPrinter,
        settings: BridgeSettings,
        on_notice: Notice | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.service = service
        self.printer = printer
        self.settings = settings
        self.patterns = settings.receipt_patterns()
        self.pages = printer_code_pages(printer.printer.profile.model)
        self.on_notice = on_notice or (lambda text: log.warning("printer bridge: %s", text))
        self.clock = clock
        self.language = service.config.language
        self.sock: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- one receipt -----------------------------------------------------------------------
    def _tell(self, error: Exception | None) -> None:
        """A receipt went to the printer without loyalty: the cashier is told (``on_notice``
        in the till's language, and the app's listeners in the cashier's)."""
        event = PosReceiptPassed(error)
        self.on_notice(passed_text(translator(self.language), event))
        self.service.tell(event)

    def _forward(self, data: bytes, document: Receipt | None = None) -> None:
        receipt = document or Receipt(f"POS-{uuid.uuid4().hex[:16]}", "en", "", passthrough=data)
        self.printer.enqueue_document(receipt)

    def _sale(self, pos: PosReceipt, pos_id: str, member: str) -> str:
        program = self.service.till.program
        lines = [wire.Line(x.name, x.amount_minor, "general") for x in pos.lines]
        # A total printed in another currency is refused (pos_currency_mismatch), not counted
        # as the program's: 17,49 zł is not EUR 17.49.
        currency = pos.currency or program.currency
        request = wire.SaleRequest(pos_id, member, currency, pos.total_minor, lines)
        return self.service.sale(request, self.clock(), via="printer").receipt_no

    def handle(self, data: bytes, address: str | None = None) -> Outcome:
        """Record what the receipt is for and queue it with its loyalty block; whatever goes
        wrong, the POS's bytes are queued for the printer unchanged. ``address``: the POS's
        (its lane, when lanes are kept apart)."""
        try:
            return self._handle(data, address)
        except Exception:  # never lose a POS receipt to a bug of ours
            log.exception("printer bridge: a receipt was forwarded without loyalty")
            self._forward(data)
            return Outcome(True, None, "error")

    def _handle(self, data: bytes, address: str | None) -> Outcome:
        scanned = scan(data, self.pages, self.settings.code_page)
        data = without_status_requests(data, scanned)  # the bridge answered them itself
        found = read_receipt(scanned.lines, self.patterns, self.service.till.program.minor_units)
        if not scanned.readable or found is None:
            # Most likely the member's own receipt: they are not left waiting for the next
            # shopper's (the cashier records this sale at the till, scanning them again).
            self.service.presence.take(self.clock(), self.settings.member_window_s, address)
            self._forward(data)
            self._tell(None)
            return Outcome(True, None, "unreadable")
        pos_id = "print:" + (found.receipt_id or hashlib.sha256(data).hexdigest()[:40])
        receipt_no = self.service.recorded_receipt(pos_id)  # printed again: the same sale
        if receipt_no is None:
            member = found.member_code or self.service.presence.take(
                self.clock(), self.settings.member_window_s, address
            )
            if member is None:  # not a member's sale
                self._forward(data)
                return Outcome(True, None, "no_member")
            try:
                receipt_no = self._sale(found, pos_id, member)
            except (LoyaltyError, ScanRefusedError, CommandError) as exc:
                self._forward(data)
                self._tell(exc)
                return Outcome(True, None, getattr(exc, "code", "refused"))
        facts, owner = receipts.facts_from_store(self.service.till, receipt_no, self.clock())
        block = receipts.loyalty_block(facts, self.service.till.program, owner)
        document = dataclasses.replace(
            block, receipt_no=f"POS-{uuid.uuid4().hex[:16]}", passthrough=data
        )
        self._forward(data, document)
        return Outcome(True, receipt_no, None)

    # -- the listener ----------------------------------------------------------------------
    def start(self) -> tuple[str, int]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.settings.host, self.settings.port))
        sock.listen(16)
        sock.settimeout(0.2)
        self.sock = sock
        thread = threading.Thread(target=self._accept, name="printer-bridge", daemon=True)
        thread.start()
        self._threads.append(thread)
        host, port = sock.getsockname()[:2]
        return str(host), int(port)

    def _accept(self) -> None:
        assert self.sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()

    def _answer_status(self, conn: socket.socket, buf: bytes, answered: int) -> int:
        """Answer the POS's status requests (DLE EOT n) as a ready printer: the bridge takes
        the receipt whatever the printer behind it does (the print queue keeps it)."""
        asked = scan(buf, self.pages, self.settings.code_page).status_requests
        for n in asked[answered:]:
            with contextlib.suppress(OSError):
                conn.sendall(bytes([READY_STATUS.get(n, 0x12)]))
        return len(asked)

    def _serve(self, conn: socket.socket) -> None:
        """Read receipts until the POS closes: a receipt ends at the close or at a pause."""
        try:
            address: str | None = str(conn.getpeername()[0])
        except OSError:
            address = None
        buf = bytearray()
        answered = 0
        conn.settimeout(self.settings.idle_s)
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    if buf:
                        self.handle(bytes(buf), address)
                        buf.clear()
                        answered = 0
                    if self._stop.is_set():
                        break
                    continue
                except OSError:  # reset by the POS: what came is still its receipt
                    break
                if not chunk:
                    break
                buf += chunk
                if b"\x10\x04" in buf[max(0, len(buf) - len(chunk) - 1) :]:
                    answered = self._answer_status(conn, bytes(buf), answered)
                if len(buf) > MAX_RECEIPT:
                    self._forward(bytes(buf))
                    buf.clear()
                    answered = 0
        if buf:
            self.handle(bytes(buf), address)

    def stop(self) -> None:
        self._stop.set()
        if self.sock is not None:
            self.sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
