"""Printer strings, status bytes, the file and dummy backends, and python-escpos' side effects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from printer import Printer, PrinterError, Problem, Receipt, Status, parse_printer, render
from printer.device import _interpret

ROOT = Path(__file__).resolve().parents[2]


def test_printer_strings() -> None:
    tcp = parse_printer("tcp://10.0.0.5?model=TM-T20II&paper=80")
    assert (tcp.kind, tcp.target, tcp.port, tcp.model, tcp.paper_mm) == (
        "tcp",
        "10.0.0.5",
        9100,
        "TM-T20II",
        80,
    )
    usb = parse_printer("usb://04b8:0202")
    assert (usb.kind, usb.target, usb.timeout) == ("usb", "04b8:0202", 5.0)  # never 0
    serial = parse_printer("serial:///dev/ttyUSB0?baudrate=38400")
    assert (serial.target, serial.options["baudrate"]) == ("/dev/ttyUSB0", "38400")
    assert parse_printer("file:///dev/usb/lp0").target == "/dev/usb/lp0"
    assert parse_printer("dummy:").kind == "dummy"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("lpt://x", "scheme"),
        ("tcp://", "host"),
        ("tcp://h:port", "port"),
        ("usb://04b8", "usb_ids"),
        ("usb://04b8:0202?timeout=0", "usb_timeout_zero"),
        ("serial:///dev/ttyS0?baudrate=fast", "baudrate"),
        ("dummy:?paper=72", "paper"),
        ("file://", "path"),
    ],
)
def test_bad_printer_strings_are_codes(url: str, reason: str) -> None:
    with pytest.raises(PrinterError) as err:
        parse_printer(url)
    assert err.value.problem is Problem.BAD_PRINTER_URL
    assert err.value.params["reason"] == reason


def test_unknown_model_is_a_code() -> None:
    with pytest.raises(PrinterError) as err:
        Printer("dummy:?model=NoSuchPrinter")
    assert err.value.problem is Problem.UNKNOWN_PROFILE


def test_status_bytes() -> None:
    assert _interpret(1, b"\x12") is Status.READY
    assert _interpret(1, b"\x1a") is Status.OFFLINE
    assert _interpret(2, b"\x16") is Status.COVER_OPEN
    assert _interpret(2, b"\x32") is Status.OUT_OF_PAPER
    assert _interpret(4, b"\x72") is Status.OUT_OF_PAPER
    assert _interpret(4, b"\x1e") is Status.PAPER_LOW
    assert _interpret(4, b"") is Status.UNKNOWN  # no answer is not "paper OK"
    assert _interpret(4, b"\xff") is Status.UNKNOWN  # not a status byte


def test_file_printer_writes_the_job_and_cannot_tell_its_status(tmp_path: Path) -> None:
    device = tmp_path / "lp0"
    device.touch()
    printer = Printer(f"file://{device}?model=TM-T20II&paper=80")
    receipt = Receipt.from_json((ROOT / "fixtures/receipts/pl.json").read_text(encoding="utf-8"))
    data = render(receipt, printer.profile).data
    assert printer.print_job(data) is Status.UNKNOWN
    assert device.read_bytes() == data
    assert printer.status() is Status.UNKNOWN


def test_dummy_printer_records_jobs() -> None:
    printer = Printer("dummy:?model=TM-T20II")
    printer.print_job(b"\x1b@hello\n")
    printer.kick_drawer()
    assert printer.output == b"\x1b@hello\n" + b"\x1bp\x00\x32\x32"


def test_usb_without_pyusb_is_a_code_not_a_crash() -> None:
    try:
        import usb  # noqa: F401
    except ImportError:
        with pytest.raises(PrinterError) as err:
            Printer("usb://04b8:0202").print_job(b"x")
        assert err.value.problem is Problem.DRIVER_MISSING
    else:
        pytest.skip("pyusb is installed here")


def test_using_the_printer_package_leaves_logging_and_stdout_alone() -> None:
    code = (
        "import json, logging, sys\n"
        "import printer\n"
        "loaded_early = 'escpos' in sys.modules\n"
        "p = printer.Printer('dummy:?model=default')\n"
        # Raster (ș) on a profile without a dot width: escpos' image() would print a notice.
        "r = printer.Receipt('R-1', 'ro', 'Bon ș', (printer.Code('R-1'),))\n"
        "p.print_job(printer.render(r, p.profile).data)\n"
        "p.kick_drawer()\n"
        "print(json.dumps({'early': loaded_early, 'loaded': 'escpos' in sys.modules,\n"
        "                  'handlers': len(logging.getLogger().handlers)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stderr == ""
    assert json.loads(out.stdout) == {"early": False, "loaded": True, "handlers": 0}


def test_usb_and_serial_timeouts_count_as_timeouts() -> None:
    from printer.device import _is_timeout

    class USBTimeoutError(OSError):  # pyusb's name for it (pyusb is not installed here)
        pass

    assert _is_timeout(TimeoutError()) and _is_timeout(USBTimeoutError())
    assert not _is_timeout(ConnectionResetError())
