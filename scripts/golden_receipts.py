"""Golden receipts: the bytes, preview text and preview PNG of each sample receipt per paper.

    .venv/bin/python scripts/golden_receipts.py          # check: list what differs, exit 1
    .venv/bin/python scripts/golden_receipts.py --write  # regenerate (look at the PNGs first)

Tests never regenerate them. Samples are fixtures/receipts/<lang>.json; the goldens go to
fixtures/receipts/golden/<lang>-<paper>.{bin,txt,png}.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from printer import PrinterProfile, Receipt, Rendered, render  # noqa: E402

SAMPLES = ROOT / "fixtures" / "receipts"
GOLDEN = SAMPLES / "golden"
LANGUAGES = ("en", "el", "pl", "ro", "th", "fa")
# paper name -> (escpos model, paper mm): an Epson 80 mm, a generic 58 mm, and a 58 mm printer
# whose profile has a Thai code page (Thai in text mode there).
PAPERS = {"80mm": ("TM-T20II", 80), "58mm": ("POS-5890", 58), "58mm-sunmi": ("Sunmi-V2", 58)}
CASES = [(lang, paper) for paper in PAPERS for lang in LANGUAGES if paper != "58mm-sunmi"] + [
    ("th", "58mm-sunmi")
]


def sample(lang: str) -> Receipt:
    return Receipt.from_json((SAMPLES / f"{lang}.json").read_text(encoding="utf-8"))


def rendered(lang: str, paper: str) -> Rendered:
    model, mm = PAPERS[paper]
    return render(sample(lang), PrinterProfile.load(model, mm))


def outputs(lang: str, paper: str) -> dict[Path, bytes]:
    r = rendered(lang, paper)
    png = io.BytesIO()
    r.image.save(png, format="PNG")
    stem = GOLDEN / f"{lang}-{paper}"
    return {
        stem.with_suffix(".bin"): r.data,
        stem.with_suffix(".txt"): r.text.encode("utf-8"),
        stem.with_suffix(".png"): png.getvalue(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="regenerate the golden files")
    args = parser.parse_args()
    GOLDEN.mkdir(parents=True, exist_ok=True)
    differ = []
    for lang, paper in CASES:
        for path, data in outputs(lang, paper).items():
            old = path.read_bytes() if path.exists() else None
            if path.suffix == ".png" and old is not None:
                from PIL import Image

                same = Image.open(path).tobytes() == Image.open(io.BytesIO(data)).tobytes()
            else:
                same = old == data
            if not same:
                differ.append(path)
                if args.write:
                    path.write_bytes(data)
    for path in differ:
        print(("wrote " if args.write else "differs: ") + str(path.relative_to(ROOT)))
    return 0 if args.write or not differ else 1


if __name__ == "__main__":
    raise SystemExit(main())
