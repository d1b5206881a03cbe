"""The receipt-printer bridge, end to end over real sockets: a test POS that is not our code's
friend (receipts built with python-escpos directly: three layouts, code pages for Greek and
Polish, a raster logo, barcodes and cuts) prints over TCP to the bridge, which records each
member's sale once with the right total and sends the POS's bytes unchanged, with the
loyalty block spliced in before the POS's own cut (one piece of paper), to a real socket
printer behind it."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw

from loyalty.till import Till
from printer._escpos import escpos, quiet
from printer.escpos_stream import printer_code_pages, scan
from terminal import config as config_mod
from terminal.pos.serve import PosSide
from terminal.pos.token import token_path
from tests.pos_fixtures import make_data_dir
from tests.printer_server import FakeNetworkPrinter


@dataclass
class Rig:
    till: Till
    printer: FakeNetworkPrinter
    bridge_port: int
    http: httpx.Client
    notices: list[str] = field(default_factory=list)

    def sales(self) -> list[tuple[str, int]]:
        with self.till.db.read() as conn:
            rows = conn.execute(
                "SELECT member_id, total_minor FROM sales WHERE kind = 'sale' ORDER BY receipt_no"
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def print(self, data: bytes, chunk: int = 0) -> None:
        """The POS prints: one connection, the bytes (in pieces of ``chunk``), closed."""
        network = escpos("escpos.printer").Network("127.0.0.1", self.bridge_port, timeout=5)
        with quiet(capture_stdout=True):
            network.open()
            pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] if chunk else [data]
            for piece in pieces:
                network._raw(piece)
            network.close()

    def wait_printed(self, count: int) -> list[bytes]:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            jobs = self.printer.jobs
            if (
                len(jobs) >= count
                and self.till.db.one(
                    "SELECT 1 FROM print_jobs WHERE state IN ('queued', 'sending')"
                )
                is None
            ):
                return jobs
            time.sleep(0.05)
        raise AssertionError(f"printed {len(self.printer.jobs)} of {count}")


@pytest.fixture
def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    for name in ("TILL_CONFIG", "TILL_LANGUAGE", "TILL_CASHIER", "TILL_PRINTER"):
        monkeypatch.delenv(name, raising=False)
    printer = FakeNetworkPrinter(timeout=2)
    extra = (
        f'printer = "{printer.url}"\n\n[printer_bridge]\nenabled = true\nport = 0\nidle_s = 0.5\n'
    )
    folder = make_data_dir(tmp_path / "data", extra)
    cfg = config_mod.load(str(folder))
    till = Till.open(folder)
    notices: list[str] = []
    side = PosSide(till, cfg, on_notice=notices.append, api=True, port=0)
    where = side.start()
    token = token_path(folder).read_text(encoding="utf-8").strip()
    http = httpx.Client(
        base_url=where["url"], headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    port = int(where["printer_bridge"].rsplit(":", 1)[1])
    try:
        yield Rig(till, printer, port, http, notices)
    finally:
        http.close()
        side.stop()
        till.close()
        printer.close()


def logo() -> Image.Image:
    image = Image.new("1", (200, 60), 1)
    ImageDraw.Draw(image).ellipse((10, 5, 190, 55), outline=0, width=4)
    return image


def pos_receipt(profile: str, build: Callable[[object], None]) -> bytes:
    """A receipt as a POS builds it with python-escpos, as bytes."""
    with quiet(capture_stdout=True):
        dummy = escpos("escpos.printer").Dummy(profile=profile)
        build(dummy)
        return bytes(dummy.output)


def greek_80mm(p: object) -> None:  # 42 columns, code page CP737, a raster logo
    p.image(logo())  # type: ignore[attr-defined]
    p.set(align="center", bold=True)  # type: ignore[attr-defined]
    p.text("ΤΟ ΜΠΑΚΑΛΙΚΟ\nΕρμού 12, Αθήνα\n")  # type: ignore[attr-defined]
    p.set(align="left", bold=False)  # type: ignore[attr-defined]
    p.text("Απόδειξη Nr: GR-000017\n")  # type: ignore[attr-defined]
    p.text("-" * 42 + "\n")  # type: ignore[attr-defined]
    p.text(f"{'Φέτα Δωδώνης 400γρ':<34}{'6,40':>8}\n")  # type: ignore[attr-defined]
    p.text(f"{'Ελαιόλαδο Κρήτης 1L':<34}{'12,90':>8}\n")  # type: ignore[attr-defined]
    p.text("-" * 42 + "\n")  # type: ignore[attr-defined]
    p.text(f"{'ΣΥΝΟΛΟ':<30}{'EUR 19,30':>12}\n")  # type: ignore[attr-defined]
    p.barcode("4006381333931", "EAN13")  # type: ignore[attr-defined]
    p.cut()  # type: ignore[attr-defined]


def polish_58mm(p: object, currency: str = "EUR") -> None:  # 32 columns, CP852, card printed
    p.text("SKLEP ŻÓŁW\n")  # type: ignore[attr-defined]
    p.text("Paragon nr: PL/2026/0042\n")  # type: ignore[attr-defined]
    p.text(f"{'Chleb żytni':<24}{'7,50':>8}\n")  # type: ignore[attr-defined]
    p.text(f"{'Masło':<24}{'9,99':>8}\n")  # type: ignore[attr-defined]
    p.text(f"{'Razem':<20}{'17,49 ' + currency:>12}\n")  # type: ignore[attr-defined]
    p.text("Karta: 4000 0000 0010\n")  # type: ignore[attr-defined]
    p.qr("https://example.test/r/42")  # type: ignore[attr-defined]
    p.cut(mode="PART")  # type: ignore[attr-defined]


def english_48col(p: object) -> None:  # 48 columns, no receipt number, a logo mid-way
    p.text("CORNER SHOP\n")  # type: ignore[attr-defined]
    p.text(f"{'Apples':<40}{'3.20':>8}\n")  # type: ignore[attr-defined]
    p.image(logo())  # type: ignore[attr-defined]
    p.text(f"{'Bread':<40}{'2.30':>8}\n")  # type: ignore[attr-defined]
    p.text(f"{'TOTAL':<38}{'5.50 EUR':>10}\n")  # type: ignore[attr-defined]
    p.cut()  # type: ignore[attr-defined]


def spliced(printed: bytes, sent: bytes) -> bytes:
    """The block the printer got inside the POS's bytes, which must be unchanged around it:
    everything the POS printed, the block, then the POS's own feed, cut and pulse."""
    at = scan(sent, {}).finish_at
    assert at is not None, "the POS's receipt ends with its cut"
    assert len(printed) > len(sent)
    assert printed[:at] == sent[:at] and printed[len(printed) - (len(sent) - at) :] == sent[at:]
    assert scan(printed, {}).cuts == scan(sent, {}).cuts  # no cut of ours: one piece of paper
    return printed[at : len(printed) - (len(sent) - at)]


def identify(rig: Rig, code: str) -> None:
    r = rig.http.post("/v1/members/identify", json={"code": code})
    assert r.status_code == 200, r.text


def test_three_pos_layouts_are_recorded_once_and_printed_with_the_loyalty_block(rig: Rig) -> None:
    greek = pos_receipt("TM-T88V", greek_80mm)
    polish = pos_receipt("TM-T20II", polish_58mm)
    english = pos_receipt("TM-T88V", english_48col)
    assert b"\x1b\x74" in greek and b"\x1dv0" in greek  # a code page switch, a raster logo
    identify(rig, "4000 0000 0002")  # Eleni, at the till, a moment before the POS prints
    rig.print(greek, chunk=700)  # the POS sends it in pieces
    rig.wait_printed(1)
    rig.print(polish)  # the member card is printed on it
    rig.wait_printed(2)
    identify(rig, "M000003")  # the next shopper
    rig.print(english)
    jobs = rig.wait_printed(3)
    assert rig.sales() == [("M000001", 1930), ("M000002", 1749), ("M000003", 550)]
    for sent, printed, name in zip(
        (greek, polish, english), jobs, ("Eleni", "Piotr", "Ioana"), strict=True
    ):
        block = scan(spliced(printed, sent), printer_code_pages("TM-T20II"))
        assert block.readable
        text = "\n".join(block.lines)
        if name == "Ioana":  # Romanian's ș and ț are in no code page: a raster block
            assert block.images >= 1 and not text.strip()
        else:
            assert name in text, text  # the loyalty block, for this member, as text
    greek_block = "\n".join(scan(spliced(jobs[0], greek), printer_code_pages("TM-T20II")).lines)
    assert "Νέο υπόλοιπο" in greek_block or "υπόλοιπο" in greek_block.lower(), greek_block
    assert rig.notices == []


def test_a_receipt_printed_twice_is_one_sale_printed_twice(rig: Rig) -> None:
    greek = pos_receipt("TM-T88V", greek_80mm)
    identify(rig, "M000001")
    rig.print(greek)
    rig.wait_printed(1)
    rig.print(greek)  # the cashier reprints on the POS: nobody identified this time
    jobs = rig.wait_printed(2)
    assert rig.sales() == [("M000001", 1930)]
    assert jobs[0] == jobs[1]  # the same figures again


def test_a_receipt_without_a_member_goes_through_untouched(rig: Rig) -> None:
    english = pos_receipt("TM-T88V", english_48col)
    rig.print(english)
    assert rig.wait_printed(1) == [english]
    assert rig.sales() == []
    assert rig.notices == []


@pytest.mark.parametrize("cut_at", [0.3, 0.6, 0.95])
def test_a_stream_cut_off_mid_receipt_is_forwarded_untouched_and_the_cashier_told(
    rig: Rig, cut_at: float
) -> None:
    greek = pos_receipt("TM-T88V", greek_80mm)
    broken = greek[: int(len(greek) * cut_at)]
    identify(rig, "M000001")
    rig.print(broken)
    jobs = rig.wait_printed(1)
    assert len(jobs) == 1 and jobs[0].startswith(broken)
    # Nothing of ours follows, but the till's status requests (DLE EOT), which our test
    # printer, like a real one, reads as the rest of the cut-off image.
    assert set(jobs[0][len(broken) :].split(b"\x10\x04")) <= {b"", b"\x01", b"\x02", b"\x04"}
    assert rig.sales() == []
    assert len(rig.notices) == 1 and "could not read" in rig.notices[0]
    # Eleni's receipt, most likely: the next shopper's receipt is not hers.
    rig.print(pos_receipt("TM-T88V", english_48col))
    rig.wait_printed(2)
    assert rig.sales() == []


def test_a_refused_sale_still_prints_and_the_cashier_is_told(rig: Rig) -> None:
    polish = pos_receipt("TM-T20II", polish_58mm).replace(b"4000 0000 0010", b"4000 0000 0036")
    rig.print(polish)  # M000004, blocked
    jobs = rig.wait_printed(1)
    assert jobs == [polish]
    assert rig.sales() == []
    assert len(rig.notices) == 1 and "blocked" in rig.notices[0]


def test_binary_garbage_is_forwarded_untouched(rig: Rig) -> None:
    garbage = bytes(range(256)) * 4
    identify(rig, "M000001")
    rig.print(garbage)
    assert rig.wait_printed(1) == [garbage] or rig.printer.jobs[0].startswith(garbage[:16])
    assert rig.sales() == []


def test_the_printer_offline_behind_the_bridge_loses_nothing(rig: Rig) -> None:
    rig.printer.refuse()
    english = pos_receipt("TM-T88V", english_48col)
    identify(rig, "M000002")
    rig.print(english)
    deadline = time.monotonic() + 10
    while not rig.sales() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rig.sales() == [("M000002", 550)]
    rig.printer.listen()
    with socket.create_connection(("127.0.0.1", rig.bridge_port)) as s:
        s.sendall(b"")  # a new print nudges the queue; the worker also retries on its own
    jobs = rig.wait_printed(1)
    assert spliced(jobs[0], english)


def test_a_pos_that_asks_the_printer_status_is_answered_ready(rig: Rig) -> None:
    english = pos_receipt("TM-T88V", english_48col)
    identify(rig, "M000002")
    with socket.create_connection(("127.0.0.1", rig.bridge_port), timeout=5) as pos:
        for n in (1, 2, 4):
            pos.sendall(b"\x10\x04" + bytes([n]))
            reply = pos.recv(1)
            assert len(reply) == 1 and reply[0] & 0x93 == 0x12  # fixed bits, no error bits
        pos.sendall(english)
    jobs = rig.wait_printed(1)
    assert spliced(jobs[0], english)  # the status requests went nowhere but to us
    assert rig.sales() == [("M000002", 550)]


def test_the_block_goes_before_a_cut_and_pulse_and_a_receipt_without_a_cut_gets_ours(
    rig: Rig,
) -> None:
    def cut_then_drawer(p: object) -> None:  # a POS that cuts without feeding, then kicks
        english_48col_lines(p)
        p.cut(mode="PART", feed=False)  # type: ignore[attr-defined]
        p.cashdraw(2)  # type: ignore[attr-defined]

    def no_cut(p: object) -> None:  # a POS that leaves the cut to the printer's user
        english_48col_lines(p)

    with_pulse = pos_receipt("TM-T88V", cut_then_drawer)
    identify(rig, "M000002")
    rig.print(with_pulse)
    printed = rig.wait_printed(1)[0]
    block = spliced(printed, with_pulse)
    assert "Piotr" in "\n".join(scan(block, {}).lines)
    assert printed.endswith(b"\x1dVB\x00\x1bp\x0022")  # the POS's cut, then its drawer pulse

    bare = pos_receipt("TM-T88V", no_cut)
    identify(rig, "M000003")
    rig.print(bare)
    printed = rig.wait_printed(2)[1]
    assert printed.startswith(bare)  # the POS's bytes, then the block and a cut of ours
    assert scan(printed, {}).cuts == 1 and scan(bare, {}).cuts == 0
    assert rig.sales() == [("M000002", 550), ("M000003", 550)]


def english_48col_lines(p: object) -> None:
    p.text("CORNER SHOP\n")  # type: ignore[attr-defined]
    p.text(f"{'Apples':<40}{'3.20':>8}\n")  # type: ignore[attr-defined]
    p.text(f"{'Bread':<40}{'2.30':>8}\n")  # type: ignore[attr-defined]
    p.text(f"{'TOTAL':<38}{'5.50 EUR':>10}\n")  # type: ignore[attr-defined]


def test_a_total_in_another_currency_is_not_counted_and_prints_untouched(rig: Rig) -> None:
    zloty = pos_receipt("TM-T20II", lambda p: polish_58mm(p, "zł"))
    rig.print(zloty)  # Piotr's card printed on it; the program counts in EUR
    assert rig.wait_printed(1) == [zloty]
    assert rig.sales() == []
    assert len(rig.notices) == 1 and "PLN" in rig.notices[0] and "EUR" in rig.notices[0]


@pytest.mark.parametrize("lanes", ["shared", "by_address"])
def test_two_pos_lanes_sharing_one_till(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lanes: str
) -> None:
    """Lane A (127.0.0.2) identifies Eleni, lane B (127.0.0.3) Piotr, then A prints. Shared,
    A's receipt goes to the last member identified (Piotr), as documented; by address, each
    lane's receipt is its own member's."""
    for name in ("TILL_CONFIG", "TILL_LANGUAGE", "TILL_CASHIER", "TILL_PRINTER"):
        monkeypatch.delenv(name, raising=False)
    printer = FakeNetworkPrinter(timeout=2)
    extra = f'printer = "{printer.url}"\n\n[printer_bridge]\nenabled = true\nport = 0\n'
    folder = make_data_dir(tmp_path / "data", extra + f'idle_s = 0.3\nlanes = "{lanes}"\n')
    till = Till.open(folder)
    side = PosSide(till, config_mod.load(str(folder)), api=True, port=0)
    where = side.start()
    port = int(where["printer_bridge"].rsplit(":", 1)[1])
    token = token_path(folder).read_text(encoding="utf-8").strip()
    rig = Rig(till, printer, port, httpx.Client(), [])

    def lane(address: str) -> httpx.Client:
        return httpx.Client(
            base_url=where["url"], headers={"Authorization": f"Bearer {token}"},
            transport=httpx.HTTPTransport(local_address=address), timeout=30,
        )  # fmt: skip

    def print_from(address: str, data: bytes) -> None:
        with socket.create_connection(("127.0.0.1", port), 5, (address, 0)) as pos:
            pos.sendall(data)

    receipt = pos_receipt("TM-T88V", english_48col)
    try:
        with lane("127.0.0.2") as a, lane("127.0.0.3") as b:
            assert a.post("/v1/members/identify", json={"code": "M000001"}).status_code == 200
            assert b.post("/v1/members/identify", json={"code": "M000002"}).status_code == 200
            print_from("127.0.0.2", receipt)
            rig.wait_printed(1)
            print_from("127.0.0.3", receipt.replace(b"Bread", b"Bagel"))
            rig.wait_printed(2)
        if lanes == "by_address":
            assert rig.sales() == [("M000001", 550), ("M000002", 550)]
        else:  # the last identified, taken once: lane B's receipt finds nobody
            assert rig.sales() == [("M000002", 550)]
    finally:
        side.stop()
        till.close()
        printer.close()
