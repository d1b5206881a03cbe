"""Receipt + printer profile -> ESC/POS bytes and the previews, in text or raster mode.

``auto`` picks text mode when every character is in one of the profile's code pages and the
receipt is left-to-right, raster mode otherwise: a character python-escpos cannot encode would
come out as "?", and it never shapes or reorders Arabic script.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from PIL import Image, ImageDraw

from printer import raster, text
from printer.document import Direction, Emphasis, Receipt
from printer.errors import PrinterError, Problem
from printer.layout import Placed, clusters
from printer.profile import PrinterProfile
from printer.shaping import font, segments


class Mode(StrEnum):
    AUTO = "auto"
    TEXT = "text"
    RASTER = "raster"


@dataclass(frozen=True)
class Rendered:
    """A receipt ready to print, and what to show for it."""

    receipt: Receipt
    profile: PrinterProfile
    mode: Mode  # TEXT or RASTER
    data: bytes  # ESC/POS, ready for the device
    text: str  # preview as characters (exactly the printed characters in text mode)
    placed: tuple[Placed, ...]
    unencodable: frozenset[str]  # why raster mode was chosen, if it was
    raster_image: Image.Image | None = None

    @cached_property
    def image(self) -> Image.Image:
        """Preview image: in raster mode the very image sent; in text mode the character grid
        drawn with our fonts (one cell per character of the printer's font A)."""
        if self.raster_image is not None:
            return self.raster_image
        with raster.FONT_LOCK:
            return _grid_image(list(self.placed), self.profile, self.receipt)

    def png(self) -> bytes:
        buf = io.BytesIO()
        self.image.save(buf, format="PNG", optimize=True)
        return buf.getvalue()


def choose_mode(receipt: Receipt, profile: PrinterProfile) -> tuple[Mode, frozenset[str]]:
    missing: set[str] = set()
    for t in receipt.texts():
        missing |= profile.cannot_encode(t.translate(text.SPACES))
    if missing or receipt.direction is Direction.RTL:
        return Mode.RASTER, frozenset(missing)
    return Mode.TEXT, frozenset()


def render(receipt: Receipt, profile: PrinterProfile, mode: Mode = Mode.AUTO) -> Rendered:
    chosen, missing = choose_mode(receipt, profile)
    if mode is Mode.TEXT and chosen is Mode.RASTER:
        ch = sorted(missing)[0] if missing else ""
        raise PrinterError(
            Problem.UNSUPPORTED_CHARACTER,
            character=ch,
            codepoint=f"U+{ord(ch):04X}" if ch else "",
            model=profile.model,
        )
    if mode is Mode.RASTER:
        chosen = Mode.RASTER
    if chosen is Mode.TEXT:
        placed = text.text_layout(receipt, profile)
        data, preview = text.encode_text(receipt, profile, placed)
        return Rendered(receipt, profile, Mode.TEXT, data, preview, tuple(placed), missing)
    with raster.FONT_LOCK:
        laid, ruler = raster.raster_layout(receipt, profile)
        image = raster.draw(laid, ruler)
    data = raster.encode_raster(image, receipt, profile)
    # The character preview of a raster receipt: the same content at the text-mode width.
    preview = text.preview_text(text.text_layout(receipt, profile), profile.columns)
    return Rendered(receipt, profile, Mode.RASTER, data, preview, tuple(laid), missing, image)


def _grid_image(placed: list[Placed], profile: PrinterProfile, receipt: Receipt) -> Image.Image:
    cell = profile.dots // profile.columns
    size = round(cell * 1.7)
    rows: list[tuple[Placed, int, int]] = []
    for line in placed:
        scale = 2 if line.emphasis is Emphasis.LARGE else 1
        if line.kind == "code":
            qr = raster.qr_image(line.text, text.qr_module_size(profile))
            rows.append((line, 1, qr.height + 16))
        else:
            rows.append((line, scale, cell * 2 * scale + 4))
    img = Image.new("L", (profile.dots, sum(pitch for _, _, pitch in rows) + 8), 255)
    draw = ImageDraw.Draw(img)
    y = 0
    for line, scale, pitch in rows:
        if line.kind == "code":
            qr = raster.qr_image(line.text, text.qr_module_size(profile))
            img.paste(qr.convert("L"), ((profile.dots - qr.width) // 2, y + 8))
            y += pitch
            continue
        x = 0
        bold = line.emphasis is not Emphasis.NORMAL
        for cluster in clusters(text.padded(line, profile.columns)):
            if cluster.strip():
                seg = segments(cluster, False)[0]
                f = font(seg.family, bold, size * scale)
                centre = (x + cell * scale / 2, y + pitch * 0.8)
                draw.text(centre, cluster, font=f, fill=0, anchor="ms")
            x += cell * scale
        y += pitch
    return img.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)
