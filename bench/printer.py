"""How long a typical receipt takes to build and encode, beside python-escpos doing it directly.

    .venv/bin/python bench/printer.py [--rounds N]

Rows (all in one run, same machine, same receipt content):
  direct escpos, text   the receipt's lines written straight to python-escpos' Dummy
                        (set + text per line, native QR, cut): the baseline
  printer, text         Receipt -> layout -> code-page check -> ESC/POS bytes + preview text
  printer, raster       Receipt -> layout -> Pillow/raqm image -> 1-bit -> ESC/POS raster bytes
                        (labels' rendered runs cached as on a running till; "no run cache":
                        every run rasterised, as for the first receipt after start-up)
Every round renders other numbers (receipt number, amounts, points, dates): see vary().
  direct escpos, raster the same receipt's finished image handed to escpos' image() (encode only)
Targets (issue 4): text within 2x of the direct baseline, raster under 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from printer import Mode, PrinterProfile, Receipt, _escpos, render  # noqa: E402
from printer.document import Code, Row  # noqa: E402
from printer.raster import _ink  # noqa: E402
from printer.text import padded, text_layout  # noqa: E402

SAMPLES = ROOT / "fixtures" / "receipts"


def sample(lang: str) -> Receipt:
    return Receipt.from_json((SAMPLES / f"{lang}.json").read_text(encoding="utf-8"))


_DIGITS = ("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def vary(receipt: Receipt, i: int) -> Receipt:
    """The same receipt with other numbers (receipt number, amounts, points, dates), so every
    round renders new values while the labels repeat, as on a running till."""

    def turn(text: str) -> str:
        for digits in _DIGITS:
            k = i % 9 + 1
            text = text.translate(str.maketrans(digits, digits[k:] + digits[:k]))
        return text

    blocks = []
    for b in receipt.blocks:
        if isinstance(b, Row):
            b = replace(b, value=turn(b.value))
        elif isinstance(b, Code):
            b = Code(turn(b.data), turn(b.caption))
        blocks.append(b)
    return replace(receipt, receipt_no=turn(receipt.receipt_no), blocks=tuple(blocks))


Case = tuple[str, Callable[[int], object], bool]  # name, fn(round), cold


def interleaved(cases: list[Case], rounds: int) -> list[tuple[str, list[float]]]:
    """Time the cases round-robin, so a neighbour's load on this shared machine hits them all
    alike; one untimed warm-up call each first (fonts, code page tables, as a running till)."""
    for _, fn, _ in cases:
        fn(0)
    out: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for i in range(1, rounds + 1):
        for name, fn, cold in cases:
            if cold:
                _ink.cache_clear()  # as the first receipt of a language after start-up
            t0 = time.perf_counter()
            fn(i)
            out[name].append((time.perf_counter() - t0) * 1000)
    return list(out.items())


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    profile = PrinterProfile.load("TM-T20II", 80)
    en = sample("en")
    lines = [padded(p, profile.columns) for p in text_layout(en, profile) if p.kind != "code"]
    printers = _escpos.escpos("escpos.printer")

    def direct_text(i: int) -> bytes:
        p = printers.Dummy(profile="TM-T20II")
        p.hw("INIT")
        p.cashdraw(2)
        p.set(double_width=True, double_height=True, bold=True)
        p.text(lines[0] + "\n")
        p.set(normal_textsize=True, bold=False)
        for line in lines[1:]:
            p.text(line + "\n")
        p.qr(f"T01-2026-{i:06d}", size=6, native=True)
        p.cut()
        return bytes(p.output)

    image = render(sample("fa"), profile).image

    def direct_raster(i: int) -> bytes:
        p = printers.Dummy(profile="TM-T20II")
        p.image(image, impl="bitImageRaster")
        return bytes(p.output)

    rows = interleaved(
        [
            ("direct escpos, text (en)", direct_text, False),
            ("printer, text (en)", lambda i: render(vary(en, i), profile, Mode.TEXT), False),
        ],
        args.rounds,
    )
    warm: list[Case] = []
    cold: list[Case] = []
    for lang in ("ro", "th", "fa"):
        r = sample(lang)
        fn = lambda i, r=r: render(vary(r, i), profile)  # noqa: E731
        warm.append((f"printer, raster ({lang})", fn, False))
        cold.append((f"printer, raster ({lang}), no run cache", fn, True))
    warm.append(("direct escpos, raster encode only (fa)", direct_raster, False))
    # Apart: a cold case empties the run cache the warm cases rely on.
    rows += interleaved(warm, max(10, args.rounds // 4))
    rows += interleaved(cold, max(10, args.rounds // 4))

    base = statistics.median(rows[0][1])
    print(
        f"profile {profile.model} {profile.paper_mm} mm: {profile.columns} chars, "
        f"{profile.dots} dots; N timed runs after one warm-up"
    )
    print(f"{'case':40} {'N':>5} {'median ms':>10} {'p95 ms':>8} {'vs direct text':>15}")
    for name, values in rows:
        med = statistics.median(values)
        ratio = f"{med / base:.2f}x" if "text" in name else ""
        print(f"{name:40} {len(values):5d} {med:10.2f} {p95(values):8.2f} {ratio:>15}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
