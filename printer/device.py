"""Printers behind one small interface, chosen by one string.

    tcp://host:9100[?timeout=5]                   network printer (raw TCP, "JetDirect")
    usb://04b8:0202[?timeout=5000&in_ep=0x82&out_ep=0x01]
    serial:///dev/ttyUSB0[?baudrate=38400&timeout=2]
    file:///dev/usb/lp0
    dummy:                                        records the bytes (demo, tests)

Any of them also takes ``model=TM-T20II`` and ``paper=80`` (the printer profile).

python-escpos does the talking; this module wraps its sharp edges:

- its USB timeout 0 means "wait forever": refused here, the default is 5 s;
- its ``paper_status()`` says "paper OK" when the printer does not answer: :meth:`status`
  returns ``UNKNOWN`` instead, and a job whose printer does not answer the status query sent
  after the data is reported as ``timeout`` (it may or may not have printed);
- its backends log through the root logger: every call runs inside :func:`_escpos.quiet`.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, urlsplit

from printer import _escpos
from printer.errors import PrinterError, Problem
from printer.profile import PrinterProfile

CHUNK = 4096
DLE_EOT = b"\x10\x04"


class Status(StrEnum):
    READY = "ready"
    PAPER_LOW = "paper_low"
    OUT_OF_PAPER = "out_of_paper"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    UNKNOWN = "unknown"  # the printer did not answer (many cannot: file, dummy, some USB)


@dataclass(frozen=True)
class PrinterSpec:
    """A parsed printer string."""

    kind: str  # tcp, usb, serial, file, dummy
    target: str = ""  # host, vendor:product, device path
    port: int = 9100
    timeout: float = 5.0  # seconds, for connecting, writing and status answers
    options: dict[str, str] = field(default_factory=dict)
    model: str = "default"
    paper_mm: int | None = None

    def profile(self) -> PrinterProfile:
        return PrinterProfile.load(self.model, self.paper_mm)


def parse_printer(url: str) -> PrinterSpec:
    """``tcp://10.0.0.5:9100?model=TM-T20II`` -> PrinterSpec; bad strings raise a code."""

    def bad(reason: str) -> PrinterError:
        return PrinterError(Problem.BAD_PRINTER_URL, url=url, reason=reason)

    parts = urlsplit(url.strip())
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    model = query.pop("model", "default")
    try:
        paper = int(query.pop("paper")) if "paper" in query else None
        timeout = float(query.pop("timeout")) if "timeout" in query else None
    except ValueError:
        raise bad("number") from None
    if paper not in (None, 58, 80):
        raise bad("paper")
    common: dict[str, Any] = {"model": model, "paper_mm": paper, "options": query}
    kind = parts.scheme
    if kind == "tcp":
        if not parts.hostname:
            raise bad("host")
        try:
            port = parts.port or 9100
        except ValueError:
            raise bad("port") from None
        return PrinterSpec("tcp", parts.hostname, port, timeout or 5.0, **common)
    if kind == "usb":
        ids = parts.netloc.split(":")
        try:
            if len(ids) != 2:
                raise ValueError
            int(ids[0], 16), int(ids[1], 16)
        except ValueError:
            raise bad("usb_ids") from None
        # USB timeouts are milliseconds; python-escpos' default 0 waits forever.
        ms = 5000.0 if timeout is None else timeout
        if ms <= 0:
            raise bad("usb_timeout_zero")
        return PrinterSpec("usb", parts.netloc, 0, ms / 1000, **common)
    if kind in ("serial", "file"):
        if not parts.path:
            raise bad("path")
        if kind == "serial" and not query.get("baudrate", "9600").isdigit():
            raise bad("baudrate")
        return PrinterSpec(kind, parts.path, 0, timeout or 5.0, **common)
    if kind == "dummy":
        return PrinterSpec("dummy", **common)
    raise bad("scheme")


def _is_timeout(exc: BaseException) -> bool:
    """Socket timeouts are TimeoutError; pyusb's and pyserial's are plain IOErrors by name."""
    return isinstance(exc, TimeoutError) or type(exc).__name__ in (
        "USBTimeoutError",
        "SerialTimeoutException",
    )


def _interpret(mode: int, reply: bytes) -> Status:
    """A DLE EOT reply byte (Epson's real-time status) as a Status."""
    if not reply:
        return Status.UNKNOWN
    b = reply[0]
    if b & 0x93 != 0x12:  # fixed bits: 1 and 4 set, 0 and 7 clear
        return Status.UNKNOWN
    if mode == 1:
        return Status.OFFLINE if b & 0x08 else Status.READY
    if mode == 2:
        if b & 0x04:
            return Status.COVER_OPEN
        return Status.OUT_OF_PAPER if b & 0x20 else Status.READY
    if mode == 4:
        if b & 0x60:
            return Status.OUT_OF_PAPER
        return Status.PAPER_LOW if b & 0x0C else Status.READY
    return Status.UNKNOWN


class Printer:
    """One printer. Not thread-safe: one print worker owns it.

    :meth:`print_job` is all the print queue needs: it connects, checks the printer's status
    when the printer can answer, sends the bytes and checks again, and raises
    :class:`PrinterError` with ``sent`` telling whether anything may have been printed.
    """

    def __init__(self, spec: PrinterSpec | str) -> None:
        self.spec = parse_printer(spec) if isinstance(spec, str) else spec
        self.profile = self.spec.profile()
        self._backend: Any = None
        self.output = b""  # what a dummy: printer was sent, for the demo and tests

    @property
    def answers_status(self) -> bool:
        """Whether this kind of device can read DLE EOT replies at all."""
        if self.spec.options.get("status") == "0":
            return False
        return self.spec.kind in ("tcp", "usb", "serial")

    # -- backend ------------------------------------------------------------------------------

    def _make(self) -> Any:
        s = self.spec
        printers = _escpos.escpos("escpos.printer")
        opts = s.options
        with _escpos.quiet():
            if s.kind == "tcp":
                return printers.Network(s.target, s.port, timeout=s.timeout, profile=s.model)
            if s.kind == "usb":
                if not printers.Usb.is_usable():
                    raise PrinterError(Problem.DRIVER_MISSING, driver="pyusb")
                vendor, product = (int(x, 16) for x in s.target.split(":"))
                return printers.Usb(
                    vendor,
                    product,
                    timeout=int(s.timeout * 1000),
                    in_ep=int(opts.get("in_ep", "0x82"), 0),
                    out_ep=int(opts.get("out_ep", "0x01"), 0),
                    profile=s.model,
                )
            if s.kind == "serial":
                if not printers.Serial.is_usable():
                    raise PrinterError(Problem.DRIVER_MISSING, driver="pyserial")
                return printers.Serial(
                    s.target,
                    baudrate=int(opts.get("baudrate", "9600")),
                    timeout=s.timeout,
                    profile=s.model,
                )
            if s.kind == "file":
                return printers.File(s.target, profile=s.model)
            return printers.Dummy(profile=s.model)

    def _open(self) -> Any:
        if self._backend is None:
            backend = self._make()
            exceptions = _escpos.escpos("escpos.exceptions")
            try:
                with _escpos.quiet():
                    if self.spec.kind == "tcp":
                        # Not Network.open(): on a refused connection it leaks the socket.
                        backend.device = socket.create_connection(
                            (self.spec.target, self.spec.port), timeout=self.spec.timeout
                        )
                    elif self.spec.kind != "dummy":
                        backend.open(raise_not_found=True)
            except (exceptions.DeviceNotFoundError, OSError) as exc:
                raise PrinterError(Problem.OFFLINE, detail=str(exc).strip()) from exc
            self._backend = backend
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            if self.spec.kind == "dummy":
                self.output += self._backend.output
            try:
                with _escpos.quiet():
                    self._backend.close()
            except OSError:
                pass
            self._backend = None

    # -- status -------------------------------------------------------------------------------

    def _query(self, mode: int) -> Status:
        backend = self._backend
        if backend is None or not self.answers_status:
            return Status.UNKNOWN
        try:
            with _escpos.quiet():
                backend._raw(DLE_EOT + bytes([mode]))
                reply = bytes(backend._read())
        except OSError as exc:
            return Status.UNKNOWN if _is_timeout(exc) else Status.OFFLINE
        if not reply and self.spec.kind == "tcp":
            return Status.OFFLINE  # end of stream: the printer closed the connection
        return _interpret(mode, reply)

    def _status_open(self) -> Status:
        online = self._query(1)
        if online is Status.READY:
            return self._query(4)  # paper near end?
        if online is Status.OFFLINE:
            cause = self._query(2)  # why: cover open, paper out
            return cause if cause in (Status.COVER_OPEN, Status.OUT_OF_PAPER) else Status.OFFLINE
        return online

    def status(self) -> Status:
        """Ask the printer; ``UNKNOWN`` when it does not answer (never a guessed "ready")."""
        try:
            self._open()
        except PrinterError:
            return Status.OFFLINE
        try:
            return self._status_open()
        finally:
            self.close()

    # -- printing -----------------------------------------------------------------------------

    def print_job(self, data: bytes) -> Status:
        """Send one job. Returns the status after it (READY, PAPER_LOW or UNKNOWN when the
        printer cannot answer); raises PrinterError otherwise."""
        self._open()
        try:
            before = self._status_open()
            if before in (Status.OUT_OF_PAPER, Status.COVER_OPEN):
                raise PrinterError(Problem(before.value))
            if before is Status.OFFLINE:
                raise PrinterError(Problem.OFFLINE)
            if before is Status.UNKNOWN and self.answers_status:
                # It should answer and did not: stalled. Nothing sent, safe to retry.
                raise PrinterError(Problem.TIMEOUT)
            sent = 0
            try:
                with _escpos.quiet():
                    for i in range(0, len(data), CHUNK):
                        self._backend._raw(data[i : i + CHUNK])
                        sent = i + CHUNK
            except OSError as exc:
                if _is_timeout(exc):
                    problem = Problem.TIMEOUT
                else:
                    problem = Problem.FAILED_MID_JOB if sent else Problem.OFFLINE
                # Even a failed first write may have left bytes in the printer: never resend
                # on our own.
                raise PrinterError(problem, sent=True, bytes_sent=min(sent, len(data))) from exc
            if not self.answers_status:
                return Status.UNKNOWN
            # The printer answers a real-time status request once it has taken in the data
            # before it; no answer means it stalled (or was unplugged) with our job inside.
            after = self._query(4)
            if after is Status.UNKNOWN:
                raise PrinterError(Problem.TIMEOUT, sent=True, bytes_sent=len(data))
            if after is Status.OUT_OF_PAPER:
                raise PrinterError(Problem.OUT_OF_PAPER, sent=True, bytes_sent=len(data))
            if after is Status.OFFLINE:
                raise PrinterError(Problem.FAILED_MID_JOB, sent=True, bytes_sent=len(data))
            return after
        finally:
            self.close()

    def kick_drawer(self) -> None:
        """Open the cash drawer (pin 2) on its own, e.g. for a no-sale."""
        if not self.profile.drawer:
            return
        dummy = _escpos.dummy(self.profile)
        with _escpos.quiet():
            dummy.cashdraw(2)
        self.print_job(bytes(dummy.output))
