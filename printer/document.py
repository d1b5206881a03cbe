"""The Receipt document: what a receipt says, not how wide the paper is.

The terminal builds it from a sale with every text already translated and every number, amount
and date already formatted for the member's language (terminal/i18n.py). The printer package
only lays it out, renders and prints it. It is stored as JSON in the print queue, so a reprint
needs nothing else.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

FORMAT_VERSION = 1


class Emphasis(StrEnum):
    NORMAL = "normal"
    BOLD = "bold"
    LARGE = "large"  # double width and height in text mode, a bigger bold font in raster mode


class Align(StrEnum):
    """Logical alignment: ``start`` is the left edge in left-to-right text, the right in Persian."""

    START = "start"
    CENTER = "center"
    END = "end"


class Direction(StrEnum):
    LTR = "ltr"
    RTL = "rtl"


@dataclass(frozen=True)
class Line:
    """A paragraph of text; long text wraps at spaces (or anywhere, for scripts without them)."""

    text: str
    emphasis: Emphasis = Emphasis.NORMAL
    align: Align = Align.START


@dataclass(frozen=True)
class Row:
    """Label at the start edge, value at the end edge (``Total ........ 12,50 €``).

    When both do not fit on one line, the label wraps and the value goes on a line of its own.
    """

    label: str
    value: str
    emphasis: Emphasis = Emphasis.NORMAL


@dataclass(frozen=True)
class Separator:
    """A rule across the paper (``-``) or an empty line (``blank``)."""

    style: str = "-"  # "-", "=" or "blank"


@dataclass(frozen=True)
class Code:
    """A QR code, e.g. of the receipt number, so a refund can scan it. ``caption`` goes below."""

    data: str
    caption: str = ""


Block = Line | Row | Separator | Code


@dataclass(frozen=True)
class Receipt:
    """One receipt. ``receipt_no`` keys its print jobs; ``language`` picks fonts and code pages.

    ``copy_banner`` is the translated word the terminal wants printed above a reprint
    ("COPY", "ΑΝΤΙΓΡΑΦΟ"...); an original never shows it.
    """

    receipt_no: str
    language: str
    title: str
    blocks: tuple[Block, ...] = ()
    direction: Direction = Direction.LTR
    copy_banner: str = ""
    copy: int = 0  # 0 for the original, n for the n-th reprint (set by the print queue)
    kick_drawer: bool = False
    # ESC/POS bytes another system (a shop's POS, through the printer bridge) printed: sent
    # unchanged, with this receipt spliced in before their final cut (printer.escpos_stream
    # ``splice_before_cut``). With no title and no blocks, they are all that is sent.
    passthrough: bytes = b""

    @property
    def passthrough_only(self) -> bool:
        return bool(self.passthrough) and not self.title and not self.blocks

    def as_copy(self, number: int, banner: str | None = None) -> Receipt:
        return replace(
            self,
            copy=number,
            copy_banner=self.copy_banner if banner is None else banner,
            kick_drawer=False,  # a reprint never opens the drawer
        )

    def texts(self) -> list[str]:
        """Every text on the receipt (to check fonts and code pages against)."""
        out = [self.title]
        if self.copy:
            out.append(self.copy_banner)
        for block in self.blocks:
            if isinstance(block, Line):
                out.append(block.text)
            elif isinstance(block, Row):
                out += [block.label, block.value]
            elif isinstance(block, Code):
                out.append(block.caption)
        return out

    # -- JSON (the print queue stores this) -----------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(_to_plain(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Receipt:
        return _from_plain(json.loads(text))


_KINDS: dict[str, type[Line | Row | Separator | Code]] = {
    "line": Line,
    "row": Row,
    "separator": Separator,
    "code": Code,
}
_KIND_OF = {v: k for k, v in _KINDS.items()}


def _to_plain(receipt: Receipt) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    for block in receipt.blocks:
        item: dict[str, Any] = {"kind": _KIND_OF[type(block)]}
        item.update({k: str(v) for k, v in vars(block).items()})
        blocks.append(item)
    return {
        "format": FORMAT_VERSION,
        "receipt_no": receipt.receipt_no,
        "language": receipt.language,
        "title": receipt.title,
        "direction": receipt.direction.value,
        "copy_banner": receipt.copy_banner,
        "copy": receipt.copy,
        "kick_drawer": receipt.kick_drawer,
        "blocks": blocks,
        **({"passthrough": base64.b64encode(receipt.passthrough).decode()}
           if receipt.passthrough else {}),
    }  # fmt: skip


def _block(item: dict[str, Any]) -> Block:
    kind = item["kind"]
    if kind == "line":
        return Line(item["text"], Emphasis(item["emphasis"]), Align(item["align"]))
    if kind == "row":
        return Row(item["label"], item["value"], Emphasis(item["emphasis"]))
    if kind == "separator":
        return Separator(item["style"])
    if kind == "code":
        return Code(item["data"], item["caption"])
    raise ValueError(f"unknown block kind {kind!r}")


def _from_plain(data: dict[str, Any]) -> Receipt:
    if data.get("format") != FORMAT_VERSION:
        raise ValueError(f"unknown receipt format {data.get('format')!r}")
    return Receipt(
        receipt_no=data["receipt_no"],
        language=data["language"],
        title=data["title"],
        blocks=tuple(_block(b) for b in data["blocks"]),
        direction=Direction(data["direction"]),
        copy_banner=data["copy_banner"],
        copy=int(data["copy"]),
        kick_drawer=bool(data["kick_drawer"]),
        passthrough=base64.b64decode(data.get("passthrough", "")),
    )
