"""Text mode: the printer's own font and code pages, through python-escpos' encoder.

Only used when every character of the receipt is in a code page of the profile
(:meth:`PrinterProfile.cannot_encode`); otherwise python-escpos would print "?".
Lines are padded with spaces here, so the preview text is exactly what the printer prints.
"""

from __future__ import annotations

from typing import Any

from printer import _escpos
from printer.document import Align, Emphasis, Receipt
from printer.layout import Placed, cells, layout, measure_cells
from printer.profile import PrinterProfile

QR_MARK = "▦"
# Space characters CLDR formats use (the narrow no-break space before "PM", thin spaces in
# numbers) that few code pages hold: the no-break space looks the same and CP437 has it.
SPACES = str.maketrans(dict.fromkeys("\u202f\u2007\u2008\u2009\u200a", "\u00a0"))


def qr_module_size(profile: PrinterProfile) -> int:
    return 6 if profile.dots >= 500 else 5


def padded(line: Placed, columns: int) -> str:
    """A laid-out line as the characters the printer gets (LARGE characters take two cells)."""
    return _padded(line, columns).translate(SPACES)


def _padded(line: Placed, columns: int) -> str:
    scale = 2 if line.emphasis is Emphasis.LARGE else 1
    room = columns // scale
    if line.kind == "rule":
        return line.text * room
    if line.kind == "blank":
        return ""
    if line.kind == "code":
        mark = f"[{QR_MARK} {line.text}]"
        return " " * max(0, (room - cells(mark)) // 2) + mark
    if line.kind == "row":
        space = room - cells(line.text) - cells(line.value)
        return line.text + " " * max(1, space) + line.value
    free = max(0, room - cells(line.text))
    if line.align is Align.CENTER:
        return " " * (free // 2) + line.text
    if line.align is Align.END:
        return " " * free + line.text
    return line.text


def text_layout(receipt: Receipt, profile: PrinterProfile) -> list[Placed]:
    return layout(receipt, profile.columns, measure_cells, gap=1)


def preview_text(placed: list[Placed], columns: int) -> str:
    return "\n".join(padded(line, columns).rstrip() for line in placed) + "\n"


def _style(printer: Any, emphasis: Emphasis) -> None:
    large = emphasis is Emphasis.LARGE
    printer.set(
        bold=emphasis is not Emphasis.NORMAL,
        double_width=large,
        double_height=large,
        normal_textsize=not large,
    )


def encode_text(
    receipt: Receipt, profile: PrinterProfile, placed: list[Placed]
) -> tuple[bytes, str]:
    """ESC/POS bytes of a laid-out receipt in text mode, and its preview text."""
    lines = [padded(line, profile.columns).rstrip() for line in placed]
    p = _escpos.dummy(profile)
    with _escpos.quiet():
        p.hw("INIT")
        if receipt.kick_drawer and profile.drawer:
            p.cashdraw(2)
        style: Emphasis | None = None
        for line, chars in zip(placed, lines, strict=True):
            if line.kind == "code":
                if profile.native_qr:
                    p.set(align="center")
                    p.qr(line.text, size=qr_module_size(profile), native=True)
                    p.set(align="left")
                    p.text("\n")
                else:
                    p.qr(line.text, size=qr_module_size(profile), native=False, center=True)
                continue
            if line.emphasis is not style:
                _style(p, line.emphasis)
                style = line.emphasis
            p.text(chars + "\n")
        if style is not Emphasis.NORMAL:
            _style(p, Emphasis.NORMAL)
        _finish(p, profile)
        data = bytes(p.output)
    return data, "\n".join(lines) + "\n"


def _finish(p: Any, profile: PrinterProfile) -> None:
    if profile.cut:
        p.cut()
    else:
        p.print_and_feed(4)
