"""Fonts per script, and the bidirectional order of a line, for raster rendering.

Pillow shapes text (Thai mark stacking, Arabic joining) only through raqm, and raqm's FriBiDi
comes from the system, so :func:`check_shaping` fails loudly when either is missing instead of
printing unjoined Persian letters. Pillow has no font fallback: one ``draw.text`` call uses one
font, and no single font we ship covers Latin, Greek, Thai and Arabic script. So a line is cut
into runs, each drawn with the font of its script (:func:`segments`), and the runs of a
right-to-left line are put in visual order here with the Unicode bidirectional algorithm (a
subset without explicit embeddings: rules W1-W7, N1-N2, I1-I2, L2), while raqm shapes and
orders the characters inside each run.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import ImageFont, features

from printer.errors import PrinterError, Problem

FONT_DIR = Path(__file__).with_name("fonts")
# (regular, bold) per family. All Noto, SIL Open Font License 1.1 (fonts/OFL.txt).
FAMILIES: dict[str, tuple[str, str]] = {
    "latin": ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),  # Latin, Greek, Cyrillic, symbols
    "thai": ("NotoSansThai-Regular.ttf", "NotoSansThai-Bold.ttf"),
    "arabic": ("NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Bold.ttf"),  # Persian too
}
_FALLBACK_ORDER = ("latin", "thai", "arabic")
# Naskh's letters and digits are small for their pixel size next to Noto Sans: scale it up so
# a Persian receipt reads as large as a Greek one.
SCALE = {"latin": 1.0, "thai": 1.0, "arabic": 1.2}


def check_shaping() -> None:
    """Raise unless Pillow can shape and reorder text (raqm with FriBiDi)."""
    if not features.check("raqm"):
        raise PrinterError(Problem.SHAPING_UNAVAILABLE, missing="raqm")
    if not features.version("fribidi"):
        raise PrinterError(Problem.SHAPING_UNAVAILABLE, missing="fribidi")


@cache
def font(family: str, bold: bool, size: int) -> ImageFont.FreeTypeFont:
    check_shaping()
    path = FONT_DIR / FAMILIES[family][1 if bold else 0]
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.RAQM)


def sized_font(family: str, bold: bool, size: int) -> ImageFont.FreeTypeFont:
    """The font of a family for text of nominal pixel ``size`` (see :data:`SCALE`)."""
    return font(family, bold, round(size * SCALE[family]))


@cache
def _notdef(family: str) -> bytes:
    return bytes(font(family, False, 16).getmask("\U0010fffd"))


@cache
def has_glyph(family: str, ch: str) -> bool:
    if unicodedata.category(ch) in ("Cf", "Zs"):
        return True  # zero-width joiners, bidi marks and spaces: every font handles them
    return bytes(font(family, False, 16).getmask(ch)) != _notdef(family)


def _script_family(ch: str) -> str | None:
    """The family a character's script needs; None for digits, punctuation and spaces."""
    cp = ord(ch)
    if 0x0E00 <= cp <= 0x0E7F:
        return "thai"
    if 0x0600 <= cp <= 0x06FF or 0x0750 <= cp <= 0x077F or 0xFB50 <= cp <= 0xFEFF:
        return "arabic"
    if unicodedata.category(ch).startswith("L"):
        return "latin"
    return None


def families(text: str) -> list[str]:
    """The font family of every character.

    Letters take their script's family; marks take their base's; digits, punctuation and spaces
    take the family of the letter before them (else after them) when it has the glyph.
    """
    strong = [_script_family(ch) for ch in text]
    out: list[str] = []
    for i, ch in enumerate(text):
        fam = strong[i]
        if fam is None:
            before = out[i - 1] if i else None
            after = next((f for f in strong[i + 1 :] if f), None)
            if unicodedata.category(ch).startswith("M") and before:
                fam = before
            else:
                for candidate in (before, after, *_FALLBACK_ORDER):
                    if candidate and has_glyph(candidate, ch):
                        fam = candidate
                        break
        if fam is None or not has_glyph(fam, ch):
            fam = next((f for f in _FALLBACK_ORDER if has_glyph(f, ch)), None)
            if fam is None:
                raise PrinterError(
                    Problem.UNSUPPORTED_CHARACTER, character=ch, codepoint=f"U+{ord(ch):04X}"
                )
        out.append(fam)
    return out


# -- bidirectional levels ---------------------------------------------------------------------

_STRONG_R = {"R", "AL"}
_NEUTRAL = {
    "B",
    "S",
    "WS",
    "ON",
    "BN",
    "LRE",
    "RLE",
    "LRO",
    "RLO",
    "PDF",
    "LRI",
    "RLI",
    "FSI",
    "PDI",
}


def levels(text: str, rtl: bool) -> list[int]:
    """Embedding level of each character in a paragraph of base direction ``rtl``."""
    base = 1 if rtl else 0
    types = [unicodedata.bidirectional(ch) or "L" for ch in text]
    n = len(types)
    sos = "R" if rtl else "L"
    # W1: a non-spacing mark takes the type of the character before it.
    for i, t in enumerate(types):
        if t == "NSM":
            types[i] = types[i - 1] if i else sos
    # W2: European numbers after Arabic letters are Arabic numbers. W3: AL -> R.
    last = sos
    for i, t in enumerate(types):
        if t in ("L", "R", "AL"):
            last = t
        elif t == "EN" and last == "AL":
            types[i] = "AN"
    types = ["R" if t == "AL" else t for t in types]
    # W4: one separator between two numbers of the same kind joins them.
    for i in range(1, n - 1):
        if types[i] == "ES" and types[i - 1] == types[i + 1] == "EN":
            types[i] = "EN"
        elif types[i] == "CS" and types[i - 1] == types[i + 1] and types[i - 1] in ("EN", "AN"):
            types[i] = types[i - 1]
    # W5: terminators next to European numbers are European numbers.
    i = 0
    while i < n:
        if types[i] == "ET":
            j = i
            while j < n and types[j] == "ET":
                j += 1
            if (i > 0 and types[i - 1] == "EN") or (j < n and types[j] == "EN"):
                types[i:j] = ["EN"] * (j - i)
            i = j
        else:
            i += 1
    # W6: remaining separators and terminators are neutral.
    types = ["ON" if t in ("ES", "ET", "CS") else t for t in types]
    # W7: European numbers after a left-to-right letter are left-to-right.
    last = sos
    for i, t in enumerate(types):
        if t in ("L", "R"):
            last = t
        elif t == "EN" and last == "L":
            types[i] = "L"
    # N1, N2: neutrals between two strong types of one direction take it, else the base one.
    i = 0
    while i < n:
        if types[i] in _NEUTRAL:
            j = i
            while j < n and types[j] in _NEUTRAL:
                j += 1
            before = sos if i == 0 else ("R" if types[i - 1] in ("R", "EN", "AN") else "L")
            after = sos if j == n else ("R" if types[j] in ("R", "EN", "AN") else "L")
            fill = before if before == after else ("R" if rtl else "L")
            types[i:j] = [fill] * (j - i)
            i = j
        else:
            i += 1
    # I1, I2.
    out = []
    for t in types:
        if base == 0:
            out.append(1 if t == "R" else 2 if t in ("AN", "EN") else 0)
        else:
            out.append(2 if t in ("L", "EN", "AN") else 1)
    # L1: trailing whitespace goes back to the paragraph level.
    k = n
    while k > 0 and unicodedata.bidirectional(text[k - 1]) in ("WS", "B", "S", "BN"):
        k -= 1
    out[k:] = [base] * (n - k)
    return out


@dataclass(frozen=True)
class Segment:
    """A run of one font and one direction, in visual order within its line."""

    text: str
    family: str
    rtl: bool


def segments(text: str, rtl: bool, family: str | None = None) -> list[Segment]:
    """The runs of a line, left to right as they appear on paper (``family`` forces one font)."""
    if not text:
        return []
    fams = [family] * len(text) if family else families(text)
    needs_bidi = rtl or any(unicodedata.bidirectional(ch) in _STRONG_R for ch in text)
    lvls = levels(text, rtl) if needs_bidi else [0] * len(text)
    runs: list[tuple[int, int, int, str]] = []  # (level, start, end, family)
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or lvls[i] != lvls[start] or fams[i] != fams[start]:
            runs.append((lvls[start], start, i, fams[start]))
            start = i
    # L2: from the highest level down to the lowest odd one, reverse every sequence of runs
    # at that level or higher.
    highest = max(r[0] for r in runs)
    lowest_odd = min((r[0] for r in runs if r[0] % 2), default=highest + 1)
    for level in range(highest, lowest_odd - 1, -1):
        i = 0
        while i < len(runs):
            if runs[i][0] >= level:
                j = i
                while j < len(runs) and runs[j][0] >= level:
                    j += 1
                runs[i:j] = runs[i:j][::-1]
                i = j
            else:
                i += 1
    return [Segment(text[s:e], fam, bool(lvl % 2)) for lvl, s, e, fam in runs]
