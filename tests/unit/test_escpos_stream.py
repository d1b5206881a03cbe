"""Reading a POS's ESC/POS stream and its receipt text (pure; bytes built by hand and by
python-escpos)."""

from __future__ import annotations

import pytest

from printer.escpos_stream import printer_code_pages, scan
from printer.pos_receipt import PROFILES, amount_minor, patterns_for, read_receipt

PAGES = printer_code_pages("TM-T88V")


def test_text_is_decoded_in_the_code_page_the_stream_selects() -> None:
    data = (
        b"\x1b@" + b"\x1bt\x0e" + "Σύνολο".encode("cp737") + b"\n"
        + b"\x1bt\x12" + "Żółw".encode("cp852") + b"\n" + b"\x1b@" + b"plain\n"
    )  # fmt: skip
    scanned = scan(data, PAGES)
    assert scanned.lines == ("Σύνολο", "Żółw", "plain")
    assert scanned.readable


def test_images_barcodes_and_cuts_are_stepped_over_by_their_lengths() -> None:
    raster = b"\x1dv0\x00\x02\x00\x03\x00" + b"\n\x1b\x1d" * 2  # 2x3 bytes with LF/ESC/GS in it
    qr = b"\x1d(k\x04\x001A2\x00"
    data = b"A\n" + raster + b"B\n" + qr + b"\x1dkC\x00" + b"\x1dVA\x03" + b"C\n"
    scanned = scan(data, PAGES)
    assert scanned.lines == ("A", "B", "C")
    assert (scanned.images, scanned.cuts, scanned.readable) == (1, 1, True)


def test_a_stream_that_ends_inside_a_command_or_has_unknown_ones_is_not_readable() -> None:
    assert not scan(b"A\n\x1dv0\x00\x10\x00\x10\x00abc", PAGES).complete
    assert not scan(b"A\n\x1b", PAGES).complete
    unknown = scan(b"A\n\x1b\xf0B\n", PAGES)
    assert unknown.unknown == ("1b f0",) and not unknown.readable


@pytest.mark.parametrize(
    ("text", "minor"),
    [("12.50", 1250), ("12,50", 1250), ("1.234,50", 123450), ("1,234.50", 123450),
     ("-3.00", -300), ("0,05", 5)],
)  # fmt: skip
def test_amounts_as_receipts_print_them(text: str, minor: int) -> None:
    assert amount_minor(text) == minor


def test_lines_that_do_not_add_up_leave_the_total_alone() -> None:
    lines = ["SHOP", "Tel  210 555 1234", "Bread       2.30", "TOTAL     9.99"]
    found = read_receipt(lines, PROFILES["generic"])
    assert found is not None and found.total_minor == 999 and found.lines == ()


def test_the_odoo_profile_and_overrides() -> None:
    lines = ["Order 00001-001-0007", "Desk Pad            € 1.98", "Cable    € 3.00",
             "--------", "TOTAL              € 4.98"]  # fmt: skip
    found = read_receipt(lines, PROFILES["odoo"])
    assert found is not None
    assert (found.total_minor, found.receipt_id) == (498, "00001-001-0007")
    assert [x.amount_minor for x in found.lines] == [198, 300]
    custom = patterns_for("generic", {"total": r"^A PAYER\s+(?P<amount>\d+,\d\d)$"})
    found = read_receipt(["A PAYER  7,10"], custom)
    assert found is not None and found.total_minor == 710
    assert read_receipt(["nothing here"], PROFILES["generic"]) is None
