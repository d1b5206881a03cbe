"""Raster mode: the receipt drawn with Pillow + raqm, sent as a 1-bit ESC/POS raster image.

Used for every script a code page cannot hold (Romanian ș ț, Persian, Thai on most profiles).
The image is the preview PNG too: what the till shows is what the printer gets, dot for dot.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache, lru_cache

import qrcode
from PIL import Image, ImageDraw

from printer import _escpos
from printer.document import Align, Direction, Emphasis, Receipt
from printer.layout import Placed, layout
from printer.profile import PrinterProfile
from printer.shaping import FAMILIES, Segment, check_shaping, segments, sized_font

_FRAGMENT = 960  # python-escpos' GS v 0 fragment height
# FreeType faces are not safe to use from two threads at once, and the fonts are shared:
# the print worker and the till screen's preview take turns.
FONT_LOCK = threading.RLock()


@dataclass(frozen=True)
class Metrics:
    size: int  # pixel size of the font
    ascent: int  # the tallest ascent of our families at that size (Thai stacks, Naskh)
    height: int  # line pitch


def _sizes(dots: int) -> dict[Emphasis, int]:
    normal = 24 if dots >= 500 else 21
    return {Emphasis.NORMAL: normal, Emphasis.BOLD: normal, Emphasis.LARGE: round(normal * 1.4)}


@cache
def metrics(size: int) -> Metrics:
    ascent = descent = 0
    for family in FAMILIES:
        for bold in (False, True):
            a, d = sized_font(family, bold, size).getmetrics()
            ascent, descent = max(ascent, a), max(descent, d)
    # The font ascents already include room for stacked Thai marks; tighten a little.
    return Metrics(size, round(ascent * 0.9), round((ascent + descent) * 0.85))


class Ruler:
    """Measures text in dots the way :func:`draw_line` draws it (font runs, bidi)."""

    def __init__(self, dots: int, rtl: bool, language: str) -> None:
        self.dots = dots
        self.rtl = rtl
        self.language = language
        self.sizes = _sizes(dots)
        self._cache: dict[tuple[str, Emphasis], float] = {}
        self._segments: dict[str, list[Segment]] = {}

    def segments(self, text: str) -> list[Segment]:
        if text not in self._segments:
            self._segments[text] = segments(text, self.rtl)
        return self._segments[text]

    def __call__(self, text: str, emphasis: Emphasis) -> float:
        key = (text, emphasis)
        if key not in self._cache:
            size, bold = self.sizes[emphasis], emphasis is not Emphasis.NORMAL
            self._cache[key] = sum(
                sized_font(seg.family, bold, size).getlength(
                    seg.text, direction="rtl" if seg.rtl else "ltr"
                )
                for seg in self.segments(text)
            )
        return self._cache[key]


@lru_cache(maxsize=4096)
def _ink(text: str, family: str, bold: bool, size: int, rtl: bool) -> tuple[Image.Image, int, int]:
    """One run rendered once (mode "1", set bits are ink) and its offset from the pen position.

    FreeType rasterising is most of a raster receipt's time, and most runs (the labels) are
    the same on every receipt of a language, so a running till renders them once."""
    f = sized_font(family, bold, size)
    direction = "rtl" if rtl else "ltr"
    left, top, right, bottom = (int(v) for v in f.getbbox(text, direction=direction, anchor="ls"))
    mask = Image.new("1", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, font=f, fill=1, anchor="ls", direction=direction)
    return mask, left, top


def _draw_text(
    img: Image.Image, x: float, baseline: int, text: str, emphasis: Emphasis, ruler: Ruler
) -> None:
    size, bold = ruler.sizes[emphasis], emphasis is not Emphasis.NORMAL
    for seg in ruler.segments(text):
        mask, left, top = _ink(seg.text, seg.family, bold, size, seg.rtl)
        img.paste(0, (round(x) + left, baseline + top), mask)
        x += sized_font(seg.family, bold, size).getlength(
            seg.text, direction="rtl" if seg.rtl else "ltr"
        )


def qr_image(data: str, module: int) -> Image.Image:
    # A fixed mask: every mask gives a valid code, and qrcode's search for the "best" one
    # costs 15-20 ms of pure Python per receipt.
    code = qrcode.QRCode(
        box_size=module,
        border=0,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        mask_pattern=2,
    )
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    n = len(matrix)
    img = Image.new("1", (n, n), 1)
    img.putdata([0 if cell else 1 for row in matrix for cell in row])
    return img.resize((n * module, n * module), Image.Resampling.NEAREST)


def raster_layout(receipt: Receipt, profile: PrinterProfile) -> tuple[list[Placed], Ruler]:
    check_shaping()
    ruler = Ruler(profile.dots, receipt.direction is Direction.RTL, receipt.language)
    gap = ruler("  ", Emphasis.NORMAL)
    return layout(receipt, profile.dots, ruler, gap), ruler


def draw(placed: list[Placed], ruler: Ruler) -> Image.Image:
    """The receipt as a 1-bit image exactly ``dots`` wide (black = ink)."""
    width = ruler.dots
    heights = []
    for line in placed:
        if line.kind == "code":
            heights.append(0)  # filled in below
        elif line.kind == "blank" or line.kind == "rule":
            heights.append(metrics(ruler.sizes[Emphasis.NORMAL]).height // 2)
        else:
            heights.append(metrics(ruler.sizes[line.emphasis]).height)
    codes = {
        i: qr_image(line.text, 6 if width >= 500 else 5)
        for i, line in enumerate(placed)
        if line.kind == "code"
    }
    for i, img in codes.items():
        heights[i] = img.height + 16
    # Drawn straight into a 1-bit image: FreeType renders the glyphs monochrome and hinted
    # (sharper on a 203 dpi head than thresholded anti-aliasing, and half the time).
    img = Image.new("1", (width, sum(heights) + 8), 1)
    canvas = ImageDraw.Draw(img)
    y = 0
    for i, line in enumerate(placed):
        h = heights[i]
        if line.kind == "code":
            qr = codes[i]
            img.paste(qr, ((width - qr.width) // 2, y + 8))
        elif line.kind == "rule":
            mid = y + h // 2
            if line.text == "=":
                canvas.rectangle((0, mid - 3, width - 1, mid - 2), fill=0)
                canvas.rectangle((0, mid + 2, width - 1, mid + 3), fill=0)
            else:
                canvas.rectangle((0, mid - 1, width - 1, mid), fill=0)
        elif line.kind in ("text", "row"):
            baseline = y + metrics(ruler.sizes[line.emphasis]).ascent
            w = ruler(line.text, line.emphasis)
            if line.kind == "row":
                value_w = ruler(line.value, line.emphasis)
                start, end = (width - w, 0.0) if ruler.rtl else (0.0, width - value_w)
                _draw_text(img, start, baseline, line.text, line.emphasis, ruler)
                _draw_text(img, end, baseline, line.value, line.emphasis, ruler)
            else:
                if line.align is Align.CENTER:
                    x = (width - w) / 2
                elif (line.align is Align.END) != ruler.rtl:
                    x = width - w
                else:
                    x = 0.0
                _draw_text(img, x, baseline, line.text, line.emphasis, ruler)
        y += h
    return img


def encode_raster(image: Image.Image, receipt: Receipt, profile: PrinterProfile) -> bytes:
    """ESC/POS bytes: init, drawer kick, the image as ``GS v 0`` fragments, feed and cut."""
    if image.mode != "1" or image.width > profile.dots:
        raise ValueError(f"raster image must be 1-bit and at most {profile.dots} dots wide")
    p = _escpos.dummy(profile)
    with _escpos.quiet():
        p.hw("INIT")
        if receipt.kick_drawer and profile.drawer:
            p.cashdraw(2)
        # Split here rather than in escpos, which converts the whole image once more first.
        for top in range(0, image.height, _FRAGMENT):
            fragment = image.crop((0, top, image.width, min(image.height, top + _FRAGMENT)))
            p.image(fragment, impl="bitImageRaster", fragment_height=_FRAGMENT)
        if profile.cut:
            p.cut()
        else:
            p.print_and_feed(4)
        return bytes(p.output)


def decode_raster(data: bytes) -> Image.Image:
    """Every ``GS v 0`` image in an ESC/POS stream, stacked: how the printer sees the job."""
    parts: list[Image.Image] = []
    i = 0
    while True:
        i = data.find(b"\x1dv0", i)
        if i < 0:
            break
        xb = data[i + 4] | data[i + 5] << 8
        h = data[i + 6] | data[i + 7] << 8
        body = data[i + 8 : i + 8 + xb * h]
        # In ESC/POS a set bit is ink; in Pillow's mode "1" a set bit is white.
        parts.append(Image.frombytes("1", (xb * 8, h), bytes(b ^ 0xFF for b in body)))
        i += 8 + xb * h
    if not parts:
        raise ValueError("no raster image in the data")
    out = Image.new("1", (max(p.width for p in parts), sum(p.height for p in parts)), 1)
    y = 0
    for part in parts:
        out.paste(part, (0, y))
        y += part.height
    return out
