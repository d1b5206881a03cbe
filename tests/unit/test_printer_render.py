"""Golden receipts per language and paper, and the rules that choose text or raster mode.

The goldens under fixtures/receipts/golden are only rewritten by
``scripts/golden_receipts.py --write`` (never by a test).
"""

from __future__ import annotations

import importlib.util
import io
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from printer import (
    Line,
    Mode,
    PrinterError,
    PrinterProfile,
    Problem,
    Receipt,
    render,
)
from printer.raster import decode_raster

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("golden", ROOT / "scripts" / "golden_receipts.py")
assert _spec and _spec.loader
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

RASTER_LANGUAGES = {"ro", "th", "fa"}  # on the Epson and generic profiles


def without_images(data: bytes) -> bytes:
    """The stream without GS v 0 image payloads (a QR drawn as an image has any byte)."""
    out, i = bytearray(), 0
    while (j := data.find(b"\x1dv0", i)) >= 0:
        out += data[i:j]
        xb, h = data[j + 4] | data[j + 5] << 8, data[j + 6] | data[j + 7] << 8
        i = j + 8 + xb * h
    return bytes(out + data[i:])


@pytest.mark.parametrize(("lang", "paper"), golden.CASES, ids=[f"{a}-{b}" for a, b in golden.CASES])
def test_bytes_and_previews_match_the_golden_files(lang: str, paper: str) -> None:
    r = golden.rendered(lang, paper)
    stem = golden.GOLDEN / f"{lang}-{paper}"
    assert r.data == stem.with_suffix(".bin").read_bytes(), "run scripts/golden_receipts.py"
    assert r.text == stem.with_suffix(".txt").read_text(encoding="utf-8")
    expected = Image.open(stem.with_suffix(".png"))
    assert r.image.size == expected.size
    assert r.image.convert("1").tobytes() == expected.convert("1").tobytes()


@pytest.mark.parametrize(("lang", "paper"), golden.CASES, ids=[f"{a}-{b}" for a, b in golden.CASES])
def test_mode_follows_the_code_pages_of_the_profile(lang: str, paper: str) -> None:
    r = golden.rendered(lang, paper)
    raster = lang in RASTER_LANGUAGES and paper != "58mm-sunmi"
    assert r.mode is (Mode.RASTER if raster else Mode.TEXT)
    if r.mode is Mode.TEXT:
        # Never a "?" that the receipt did not have: every character found a code page.
        text_bytes = without_images(r.data)
        assert text_bytes.count(b"?") == sum(t.count("?") for t in r.receipt.texts())


def test_the_characters_that_force_raster_are_the_known_ones() -> None:
    epson = PrinterProfile.load("TM-T20II", 80)
    assert epson.cannot_encode("Mulțumim, ștampilă") == {"ț", "ș"}  # comma below
    assert epson.cannot_encode("ş ţ ă î â") == set()  # cedilla forms are in CP852
    assert epson.cannot_encode("ی ۱۲") == {"ی", "۱", "۲"}
    assert "ก" in epson.cannot_encode("ก")  # Epson profiles have no Thai page
    assert PrinterProfile.load("Sunmi-V2", 58).cannot_encode("ใบเสร็จ") == set()
    assert epson.cannot_encode("Ζαχαροπλαστείο Łódź") == set()


def test_forcing_text_mode_on_unencodable_text_is_refused_not_questionmarked() -> None:
    ro = golden.sample("ro")
    with pytest.raises(PrinterError) as err:
        render(ro, PrinterProfile.load("TM-T20II", 80), Mode.TEXT)
    assert err.value.problem is Problem.UNSUPPORTED_CHARACTER
    assert err.value.params["character"] in {"ș", "ț", "Ș", "Ț"}


@pytest.mark.parametrize("paper", ["80mm", "58mm"])
@pytest.mark.parametrize("lang", sorted(RASTER_LANGUAGES))
def test_raster_bytes_decode_back_to_the_preview(lang: str, paper: str) -> None:
    r = golden.rendered(lang, paper)
    assert r.image.mode == "1"
    assert r.image.width == r.profile.dots  # never wider than the profile allows
    decoded = decode_raster(r.data)
    assert decoded.size == r.image.size
    assert decoded.tobytes() == r.image.tobytes()
    stored = Image.open(golden.GOLDEN / f"{lang}-{paper}.png").convert("1")
    assert decoded.tobytes() == stored.tobytes()


def test_raster_image_is_one_bit_thresholded_without_dither() -> None:
    img = golden.rendered("th", "80mm").image
    histogram = img.convert("L").histogram()
    assert sum(histogram) == histogram[0] + histogram[255]


def test_png_preview_is_a_png_of_the_image() -> None:
    r = golden.rendered("fa", "58mm")
    again = Image.open(io.BytesIO(r.png()))
    assert again.size == r.image.size
    assert again.convert("1").tobytes() == r.image.tobytes()


def test_text_mode_greek_uses_greek_code_pages() -> None:
    r = golden.rendered("el", "80mm")
    assert "Απόδειξη".encode("cp737") in r.data
    assert b"\x1bt" in r.data  # ESC t: a code page switch


def test_long_names_wrap_and_nothing_is_wider_than_the_paper() -> None:
    profile = PrinterProfile.load("POS-5890", 58)
    long_name = "Ελαιόλαδο εξαιρετικά παρθένο από τη Μεσσηνία, φιάλη ενός λίτρου"
    r = render(
        Receipt("R-1", "el", "Απόδειξη", (Line(long_name),)),
        profile,
    )
    lines = r.text.splitlines()
    assert len(lines) >= 3
    assert all(len(line) <= profile.columns for line in lines)
    raster = render(replace(r.receipt, blocks=(Line(long_name + " ș"),)), profile)
    assert raster.mode is Mode.RASTER and raster.image.width == profile.dots


def _text_of(data: bytes, model: str) -> str:
    """Decode a text-mode job the way the printer does: follow ESC t code page switches, skip
    the other commands, and return the printed characters."""
    from printer import _escpos

    code_pages = _escpos.capabilities()["profiles"][model]["codePages"]
    pages = {int(slot): name for slot, name in code_pages.items()}
    encoder = _escpos.encoder(model)
    table: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(data):
        b = data[i]
        if data.startswith(b"\x1bt", i):
            table = encoder._get_codepage_char_list(pages[data[i + 2]])
            i += 3
        elif b == 0x1B:  # ESC @ (2 bytes), ESC ! n / E n / a n / d n (3), ESC p m t1 t2 (5)
            cmd = data[i + 1 : i + 2]
            i += {b"@": 2, b"p": 5}.get(cmd, 3)
        elif data.startswith((b"\x1d(k", b"\x1d(L"), i):
            i += 5 + (data[i + 3] | data[i + 4] << 8)
        elif data.startswith(b"\x1dv0", i):
            i += 8 + (data[i + 4] | data[i + 5] << 8) * (data[i + 6] | data[i + 7] << 8)
        elif data.startswith(b"\x1dV", i):
            i += 3 if data[i + 2] in (0, 1, 48, 49) else 4
        elif b == 0x1D:
            i += 3
        else:
            out.append(chr(b) if b < 128 else table[b - 128])
            i += 1
    return "".join(out)


@pytest.mark.parametrize(
    ("lang", "paper"),
    [(lang, paper) for lang, paper in golden.CASES if lang not in RASTER_LANGUAGES]
    + [("th", "58mm-sunmi")],
)
def test_text_mode_bytes_read_back_as_the_preview(lang: str, paper: str) -> None:
    """Every character reaches the paper as itself: decoding the job with the code pages it
    switches to gives back the preview text (so no character became "?")."""
    r = golden.rendered(lang, paper)
    assert r.mode is Mode.TEXT
    printed = [line.rstrip() for line in _text_of(r.data, r.profile.model).split("\n")]
    preview = [line for line in r.text.split("\n") if "▦" not in line]
    assert [line for line in printed if line] == [line for line in preview if line]


@pytest.mark.parametrize(("lang", "paper"), golden.CASES, ids=[f"{a}-{b}" for a, b in golden.CASES])
def test_the_qr_code_scans_back_to_the_receipt_number(lang: str, paper: str) -> None:
    pyzbar = pytest.importorskip("pyzbar.pyzbar")
    r = golden.rendered(lang, paper)
    found = [d.data.decode() for d in pyzbar.decode(r.image.convert("L"))]
    assert found == [r.receipt.receipt_no]


# Titles a loyalty slip must never carry: fiscal documents are reserved by law.
FISCAL_TITLES = {"bon fiscal", "paragon", "paragon fiskalny", "φορολογική απόδειξη", "ใบกำกับภาษี"}


@pytest.mark.parametrize("lang", golden.LANGUAGES)
def test_the_golden_receipts_are_worded_by_the_catalogues(lang: str) -> None:
    """No hand-written sample: the stored document is what the till's builder makes from the
    catalogues today, its title is the catalogue's (never a fiscal one) and nothing follows
    the thank-you line."""
    from terminal.i18n import translator

    t = translator(lang)
    assert (golden.SAMPLES / f"{lang}.json").read_bytes() == golden.document(lang)
    receipt = golden.sample(lang)
    assert receipt.title == t("receipt.title.sale")
    assert receipt.title.lower() not in FISCAL_TITLES
    assert not any("fiscal" in text.lower() or "fiskal" in text.lower() for text in receipt.texts())
    last = receipt.blocks[-1]
    assert isinstance(last, Line) and last.text == t("receipt.thanks")
