"""Lay a Receipt out on a paper width: wrapping, two-column rows, rules, codes.

One algorithm for both modes; only the ruler differs: text mode measures in character cells
(font A, LARGE counts double, combining marks nothing), raster mode in dots of the rendered
fonts. The result is a list of :class:`Placed` lines in logical order; the renderers decide
where left and right are.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from printer.document import Align, Code, Emphasis, Line, Receipt, Row, Separator

Measure = Callable[[str, Emphasis], float]


@dataclass(frozen=True)
class Placed:
    """One printed line.

    ``kind`` is ``text`` (``text`` aligned by ``align``), ``row`` (``text`` at the start edge,
    ``value`` at the end edge), ``rule`` (``text`` is "-" or "="), ``blank`` or ``code``
    (``text`` is the QR data).
    """

    kind: str
    text: str = ""
    value: str = ""
    emphasis: Emphasis = Emphasis.NORMAL
    align: Align = Align.START


def clusters(text: str) -> list[str]:
    """Split text into base characters with the marks stacked on them (never split a cluster)."""
    out: list[str] = []
    for ch in text:
        if out and (unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me")):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def wrap(text: str, width: float, measure: Measure, emphasis: Emphasis) -> list[str]:
    """Greedy wrap at spaces; a word wider than the line breaks between clusters."""
    if measure(text, emphasis) <= width:
        return [text]
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if measure(candidate, emphasis) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        if measure(word, emphasis) <= width:
            current = word
            continue
        for cluster in clusters(word):  # a word longer than the line
            if current and measure(current + cluster, emphasis) > width:
                lines.append(current)
                current = ""
            current += cluster
    if current or not lines:
        lines.append(current)
    return lines


def layout(receipt: Receipt, width: float, measure: Measure, gap: float) -> list[Placed]:
    """The printed lines of a receipt at ``width`` (cells or dots); ``gap`` is the least space
    between a row's label and value."""
    out: list[Placed] = []

    def paragraph(text: str, emphasis: Emphasis, align: Align) -> None:
        for part in wrap(text, width, measure, emphasis):
            out.append(Placed("text", part, emphasis=emphasis, align=align))

    if receipt.copy and receipt.copy_banner:
        paragraph(receipt.copy_banner, Emphasis.LARGE, Align.CENTER)
    paragraph(receipt.title, Emphasis.LARGE, Align.CENTER)
    for block in receipt.blocks:
        if isinstance(block, Line):
            paragraph(block.text, block.emphasis, block.align)
        elif isinstance(block, Row):
            label_w = measure(block.label, block.emphasis)
            value_w = measure(block.value, block.emphasis)
            if label_w + gap + value_w <= width:
                out.append(Placed("row", block.label, block.value, block.emphasis))
            else:
                paragraph(block.label, block.emphasis, Align.START)
                paragraph(block.value, block.emphasis, Align.END)
        elif isinstance(block, Separator):
            if block.style == "blank":
                out.append(Placed("blank"))
            else:
                out.append(Placed("rule", "=" if block.style == "=" else "-"))
        elif isinstance(block, Code):
            out.append(Placed("code", block.data))
            if block.caption:
                paragraph(block.caption, Emphasis.NORMAL, Align.CENTER)
    return out


def cells(text: str) -> int:
    """Character cells a text takes on a printer's font: marks and format characters none."""
    if text.isascii():
        return len(text)
    return len(text) - sum(
        1
        for ch in text
        if ch >= "\u0300"
        and (unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"))
    )


def measure_cells(text: str, emphasis: Emphasis) -> float:
    return cells(text) * (2 if emphasis is Emphasis.LARGE else 1)
