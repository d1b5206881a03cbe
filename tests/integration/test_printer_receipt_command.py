"""`till receipt` and terminal/receipts.py on a real till database: sales in six languages become
translated receipts, previewed as text or PNG, and printed through the queue to a real TCP
printer on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from loyalty import reports, sales
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest
from loyalty.till import Till
from printer import JobState, Mode, PrinterProfile, PrintQueue, Row, render
from terminal.i18n import translator
from terminal.receipts import Shop, from_day_report, from_enrolment, from_sale
from tests.cli_helpers import init_data_dir, run_till
from tests.printer_server import FakeNetworkPrinter

ROOT = Path(__file__).resolve().parents[2]
# member id -> language, from fixtures/members.csv
MEMBERS = {
    "M000007": "en",
    "M000001": "el",
    "M000002": "pl",
    "M000010": "ro",
    "M000005": "th",
    "M000006": "fa",
}


till = run_till


@pytest.fixture
def data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    folder, _ = init_data_dir(
        tmp_path, monkeypatch, capsys, TILL_PRINTER="dummy:", TILL_PRINTER_PROFILE="TM-T20II"
    )
    return folder


@pytest.fixture
def server() -> Iterator[FakeNetworkPrinter]:
    s = FakeNetworkPrinter()
    yield s
    s.close()


def sell(capsys: pytest.CaptureFixture[str], member: str, *extra: str) -> str:
    code, out, err = till(
        capsys, "sale", "--member", member, "--line", "OIL,grocery,24.90",
        "--line", "FIG,fresh,22.00", *extra,
    )  # fmt: skip
    assert code == 0 and out is not None, err
    return str(out["receipt_no"])


def test_receipts_in_every_language_with_the_right_mode(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for member, lang in MEMBERS.items():
        no = sell(capsys, member)
        code, out, err = till(capsys, "receipt", no, "--text")
        assert code == 0 and out is not None, err
        t = translator(lang)
        assert out["language"] == lang
        assert out["mode"] == ("raster" if lang in ("ro", "th", "fa") else "text")
        text = out["text"]
        assert t("receipt.title.sale") in text
        assert t("receipt.earned") in text
        assert t.money(4690, "EUR") in text
        assert no in text


def test_png_preview_is_the_raster_image(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    no = sell(capsys, "M000006")  # Persian
    png = tmp_path / "r.png"
    code, out, err = till(capsys, "receipt", no, "--png", str(png))
    assert code == 0 and out is not None, err
    image = Image.open(io.BytesIO(png.read_bytes()))
    assert (image.width, image.height) == (out["width"], out["height"])
    assert image.width == PrinterProfile.load("TM-T20II", 80).dots


def test_print_reprint_and_an_offline_printer(
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    server: FakeNetworkPrinter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TILL_PRINTER", server.url)
    no = sell(capsys, "M000001")  # Greek, text mode

    server.refuse()
    code, out, err = till(capsys, "receipt", no, "--print")
    assert code == 1 and out is None
    assert translator("en")("printer.problem.offline") in err

    server.listen()
    code, out, err = till(capsys, "receipt", no, "--print")
    assert code == 0 and out is not None, err
    # The sale was recorded without printing: its first paper, made after it, is a copy (the
    # same job, tried again: nothing of it reached the printer the first time).
    assert (out["copy"], out["state"], out["attempts"]) == (1, "printed", 2)

    code, out, err = till(capsys, "receipt", no, "--print")
    assert code == 0 and out is not None, err
    assert out["copy"] == 2  # printed before: another copy
    first, second = server.jobs
    banner = translator("el")("receipt.copy").encode("cp737")
    assert banner in first and banner in second
    assert b"\x1bp" not in first  # a reprint from the command line never opens the drawer

    # A sale printed with it: the original, then copies.
    printed = sell(capsys, "M000001", "--print")
    code, out, err = till(capsys, "receipt", printed, "--print")
    assert code == 0 and out is not None and out["copy"] == 1, err
    original, copy = server.jobs[2:]
    assert banner not in original and banner in copy


def test_a_sale_receipt_shows_the_balances_of_the_sale(data_dir: Path) -> None:
    t = Till.open(data_dir)
    try:
        req = SaleRequest(
            member_id="M000002",  # Polish, 5,000 points
            cashier_id="anna",
            lines=(BasketLine("OIL", "grocery", 2490), BasketLine("FIG", "fresh", 2200)),
            reward_id="five-off",
        )
        result = sales.sale(t, req, now=dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC))
        receipt = from_sale(result, "anna", t, Shop("Olive & Oak", "ul. Portowa 12, Gdynia"))
        pl = translator("pl")
        rows = {b.label: b.value for b in receipt.blocks if isinstance(b, Row)}
        assert rows[pl("receipt.previous_balance")] == pl.number(result.before.available)
        assert rows[pl("receipt.new_balance")] == pl.number(result.after.available)
        assert rows[pl("receipt.redeemed_for", reward="5 EUR zniżki")] == pl.number(-500)
        assert rows[pl("receipt.reward", reward="5 EUR zniżki")] == pl.money(-500, "EUR")
        assert receipt.kick_drawer and receipt.language == "pl"
        # Queue it in the till's own file and connection, then print it.
        queue = PrintQueue(t.db.conn, lock=t.db.lock)
        job = queue.enqueue(receipt)
        assert queue.enqueue(receipt).job_id == job.job_id
        rendered = render(receipt, PrinterProfile.load("TM-T20II", 80))
        assert rendered.mode is Mode.TEXT
        # "Dziękujemy" with ę in CP852 (the encoder may switch code page inside the word).
        text_bytes = re.sub(rb"\x1bt.", b"", rendered.data)
        assert pl("receipt.thanks").encode("cp852") in text_bytes
        assert queue.job(job.job_id).state is JobState.QUEUED
    finally:
        t.close()


def test_unknown_receipt_is_a_translated_error(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = till(capsys, "receipt", "NOPE-1", "--text")
    assert code == 2 and out is None
    assert err.startswith("till: ") and "NOPE-1" in err


def test_refund_and_enrolment_receipts(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    no = sell(capsys, "M000005")  # Thai
    code, out, err = till(capsys, "refund", "--receipt", no)
    assert code == 0 and out is not None, err
    code, shown, err = till(capsys, "receipt", str(out["receipt_no"]), "--text")
    assert code == 0 and shown is not None, err
    th = translator("th")
    assert th("receipt.title.refund") in shown["text"]
    assert th("receipt.points_reversed") in shown["text"]
    assert no in shown["text"]  # "refund of" the original receipt

    t = Till.open(data_dir)
    try:
        enrolment = t.enroll("Νίκη", "anna", True, language="el")
        balance = t.balance(enrolment.member.member_id)
        now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
        slip = from_enrolment(enrolment, balance, "anna", t, Shop("Olive & Oak"), now)
    finally:
        t.close()
    assert slip.receipt_no == f"ENROL-{enrolment.card_number}"
    assert not slip.kick_drawer
    rendered = render(slip, PrinterProfile.load("TM-T20II", 80))
    assert rendered.mode is Mode.TEXT
    assert enrolment.card_number in rendered.text


def test_end_of_day_report(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    no = sell(capsys, "M000001")
    sell(capsys, "M000002")
    assert till(capsys, "refund", "--receipt", no)[0] == 0
    t = Till.open(data_dir)
    try:
        now = dt.datetime.now(dt.UTC)
        report = reports.day_report(t, now.astimezone(t.program.timezone).date())
        slip = from_day_report(report, t.program, Shop("Olive & Oak"), "ro", now)
    finally:
        t.close()
    ro = translator("ro")
    rows = {b.label: b.value for b in slip.blocks if isinstance(b, Row)}  # one cashier: totals
    assert rows[ro("receipt.report.sales")] == ro.number(2)
    assert rows[ro("receipt.report.refunds")] == ro.number(1)
    # Net of the money refunded that day: two sales of 46.90, one of them refunded whole.
    assert rows[ro("receipt.report.spend")] == ro.money(4690, "EUR")
    assert rows[ro("receipt.report.issued")] == ro.number(report.points_issued)
    assert slip.receipt_no == f"DAY-ATH01-T1-{report.day.isoformat()}"
    rendered = render(slip, PrinterProfile.load("POS-5890", 58))
    # "Coșuri minus retururi": ș with a comma below is in no code page, so it is drawn.
    assert rendered.mode is Mode.RASTER and "ș" in rendered.unencodable
