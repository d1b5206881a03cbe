"""What a printer model can do, from python-escpos' printer database plus the paper width.

The layout needs two numbers: characters per line (text mode, font A) and dots per line
(raster mode). Both come from the escpos profile when it knows them; profiles that say "Unknown"
(``default``) get the common values for the paper width: 58 mm -> 384 dots / 32 characters,
80 mm -> 576 dots / 48 characters (203 dpi heads).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from printer import _escpos
from printer.errors import PrinterError, Problem

# Common heads at 203 dpi: (dots, characters of font A) per paper width.
_STANDARD = {58: (384, 32), 80: (576, 48)}


@dataclass(frozen=True)
class PrinterProfile:
    model: str  # the python-escpos profile name (TM-T20II, POS-5890, default...)
    paper_mm: int  # 58 or 80
    columns: int  # characters per line in font A
    dots: int  # printable dots per line: raster images are never wider
    code_pages: tuple[str, ...]
    native_qr: bool
    cut: bool
    drawer: bool

    @classmethod
    def load(cls, model: str = "default", paper_mm: int | None = None) -> PrinterProfile:
        return _load(model, paper_mm)

    def cannot_encode(self, text: str) -> set[str]:
        """Characters text mode cannot print as themselves on this printer.

        python-escpos would print "?" for them (or GB18030 bytes for CJK, or unshaped,
        unreordered Arabic): they need raster mode.
        """
        return {ch for ch in set(text) if not _encodable(self.model, ch)}


def _width_mm(media: dict[str, Any]) -> float | None:
    value = media.get("width", {}).get("mm")
    return float(value) if isinstance(value, int | float) else None


@cache
def _load(model: str, paper_mm: int | None) -> PrinterProfile:
    profiles = _escpos.capabilities()["profiles"]
    if model not in profiles:
        raise PrinterError(Problem.UNKNOWN_PROFILE, model=model)
    data = profiles[model]
    media = data.get("media", {})
    mm = _width_mm(media)
    pixels = media.get("width", {}).get("pixels")
    profile_paper = None if mm is None else (58 if mm <= 60 else 80)
    paper = paper_mm or profile_paper or 80
    if paper not in _STANDARD:
        raise PrinterError(Problem.UNKNOWN_PROFILE, model=model, paper_mm=paper)
    fonts = data.get("fonts", {})
    if isinstance(pixels, int) and profile_paper == paper and "0" in fonts:
        dots, columns = pixels, int(fonts["0"]["columns"])
    else:
        dots, columns = _STANDARD[paper]
    features = data.get("features", {})
    return PrinterProfile(
        model=model,
        paper_mm=paper,
        columns=columns,
        dots=dots,
        code_pages=tuple(sorted(set(data.get("codePages", {}).values()))),
        native_qr=bool(features.get("qrCode")),
        cut=bool(features.get("paperFullCut") or features.get("paperPartCut")),
        drawer=bool(features.get("pulseStandard")),
    )


def _text_mode_script(ch: str) -> bool:
    """False for characters escpos' encoder mishandles whatever the code page."""
    if unicodedata.bidirectional(ch) in ("R", "AL", "AN", "RLE", "RLO", "RLI", "LRM", "RLM"):
        return False  # right-to-left text needs shaping and reordering: escpos does neither
    if "\u4e00" <= ch <= "\u9fa5":
        return False  # escpos sends these as GB18030 whatever the printer
    cat = unicodedata.category(ch)
    return not (cat in ("Cc", "Cf", "Co", "Cs", "Cn") and ch not in "\n")


@cache
def _encodable(model: str, ch: str) -> bool:
    if ord(ch) < 128:
        return ch == "\n" or ch.isprintable()
    if not _text_mode_script(ch):
        return False
    return _escpos.can_encode(model, ch)
