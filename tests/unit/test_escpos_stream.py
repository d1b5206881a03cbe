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


def pos(build: object) -> bytes:
    """A stream as a POS builds it with python-escpos (``build`` gets the Dummy printer)."""
    from printer._escpos import escpos, quiet

    with quiet(capture_stdout=True):
        dummy = escpos("escpos.printer").Dummy(profile="TM-T88V")
        build(dummy)  # type: ignore[operator]
        return bytes(dummy.output)


BLOCK = b"\x1b@" + b"LOYALTY\nPoints: 42\n" + b"\x1bd\x06\x1dV\x00"  # ours: init, text, cut
BLOCK_BODY = BLOCK[: BLOCK.index(b"\x1bd")]


@pytest.mark.parametrize(
    ("build", "finish"),
    [
        (lambda p: (p.text("TOTAL 5.50\n"), p.cut()), b"\x1bd\x06\x1dV\x00"),
        (lambda p: (p.text("TOTAL 5.50\n"), p.cut(mode="PART", feed=False), p.cashdraw(2)),
         b"\x1dVB\x00\x1bp\x0022"),
        (lambda p: (p.text("TOTAL 5.50\n"), p.qr("https://x.test/r/1", native=True), p.cut()),
         b"\x1bd\x06\x1dV\x00"),
        (lambda p: (p.text("TOTAL 5.50\n\n\n"), p.set(bold=False), p.cut()), None),
    ],
)  # fmt: skip
def test_the_block_goes_before_the_pos_cut_and_after_what_it_printed(
    build: object, finish: bytes | None
) -> None:
    from printer.escpos_stream import splice_before_cut

    stream = pos(build)
    at = scan(stream, PAGES).finish_at
    assert at is not None
    out = splice_before_cut(stream, BLOCK)
    assert out == stream[:at] + BLOCK_BODY + stream[at:]  # the POS's bytes, in order, unchanged
    if finish is not None:
        assert out.endswith(BLOCK_BODY + finish)  # its feed, cut and pulse finish the paper
    assert stream[:at].rstrip(b"\n").endswith((b"5.50", b"1Q0"))  # after the last it printed
    assert scan(out, PAGES).cuts == scan(stream, PAGES).cuts == 1  # one piece of paper


@pytest.mark.parametrize(
    "stream",
    [
        b"TOTAL 5.50\n",  # no cut: ours
        b"COPY 1\n\x1dV\x00TOTAL 5.50\n",  # a cut mid-way, then more printed: ours at the end
        b"TOTAL 5.50\x1dV\x00",  # a line still waiting when it cuts: init would lose it
        b"TOTAL 5.50\n\x1b\xf0\x1dV\x00",  # a command we do not know
        b"TOTAL 5.50\n\x1dv0\x00\x10\x00",  # cut off mid-image (the POS disconnected)
    ],
)
def test_without_a_final_cut_after_its_text_the_block_and_our_cut_follow(stream: bytes) -> None:
    from printer.escpos_stream import splice_before_cut

    assert scan(stream, PAGES).finish_at is None
    assert splice_before_cut(stream, BLOCK) == stream + BLOCK


def test_print_and_feed_ends_the_line_it_prints() -> None:
    scanned = scan(b"TOTAL\x1bd\x03\x1dV\x00", PAGES)
    assert scanned.lines == ("TOTAL",)
    assert scanned.finish_at == len(b"TOTAL\x1bd\x03")


@pytest.mark.parametrize(
    ("total_line", "currency"),
    [
        ("TOTAL  EUR 42.50", "EUR"), ("Razem   17,49 zł", "PLN"), ("TOTAL   € 4.98", "EUR"),
        ("TOTAL DE PLATĂ   12,00 lei", "RON"), ("TOTAL   4.98", None),
        ("TOTAL DUE   4.98", None), ("ΣΥΝΟΛΟ   EUR 19,30", "EUR"), ("TOTAL  USD 5.00", "USD"),
    ],
)  # fmt: skip
def test_the_currency_a_total_names_is_read(total_line: str, currency: str | None) -> None:
    found = read_receipt(["SHOP", total_line], patterns_for("generic"))
    assert found is not None and found.currency == currency
