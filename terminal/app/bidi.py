"""Right-to-left text put in visual order for terminals that do not reorder it themselves.

Most terminals draw cells left to right as they are sent: Persian then reads backwards. With
the setting ``[display] bidi = "app"`` (the default) every line of every widget passes through
one Textual line filter, here, after Textual has laid it out and wrapped it: Persian letters
are shaped first (arabic-reshaper: each letter in its joined form, initial, medial or final,
one cell for one letter, the zero-width non-joiner respected), then the Unicode bidirectional
algorithm (python-bidi) reorders the line, each character keeping its style (a
cursor, a bold name), and the line's leading and trailing blanks stay where they are, so
right-aligned text stays right-aligned. The paragraph direction is the till's language (a
Persian till reads right to left; an English one shows a Persian name in order within a
left-to-right line). ``bidi = "terminal"`` leaves the reordering to a terminal that does it
(mlterm, VTE with bidi, ...), which shape too, so neither is done twice. Lines without
right-to-left characters are left as they are, at no cost.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Literal

from arabic_reshaper import ArabicReshaper
from bidi import get_display
from bidi.mirror import MIRRORED
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter

BidiMode = Literal["app", "terminal"]
BIDI_MODES: tuple[BidiMode, ...] = ("app", "terminal")
_RTL_CLASSES = frozenset({"R", "AL", "AN"})
# Where characters of those classes live (Hebrew to Arabic Extended, the right-to-left mark and
# embeddings, the presentation forms, the historic right-to-left scripts).
_RTL_BLOCKS = re.compile(
    "[\u0590-\u08ff\u200f\u202b\u202e\u2067\ufb1d-\ufdff\ufe70-\ufeff"
    "\U00010800-\U00010fff\U0001e800-\U0001efff]"
)


# One shaped letter per letter: harakat kept (they are combining marks, no cell of their own)
# and no ligature (lam-alef as one glyph would take one cell where Textual laid out two).
_RESHAPER = ArabicReshaper(
    configuration={
        "delete_harakat": False,
        "shift_harakat_position": False,
        "support_ligatures": False,
        "support_zwj": True,
    }
)


def shape(text: str) -> str:
    """``text`` with its Arabic-script letters in their joined presentation forms, one for
    one (``text`` itself if shaping would change its length: a style keeps to its letters)."""
    shaped = str(_RESHAPER.reshape(text))
    return shaped if len(shaped) == len(text) else text


def bidi_mode(raw: Mapping[str, Any]) -> BidiMode | None:
    """The ``[display] bidi`` setting; None when it is set to something else (the app then
    says so and reorders, the safe choice for a terminal nobody checked)."""
    display = raw.get("display")
    value = display.get("bidi", "app") if isinstance(display, Mapping) else "app"
    return value if value in BIDI_MODES else None


def needs_reordering(text: str) -> bool:
    """Does ``text`` hold a right-to-left character? A quick search of the right-to-left
    blocks first (every line of every widget passes here at each refresh), then the exact
    test on what it found."""
    found = _RTL_BLOCKS.search(text)
    return found is not None and any(
        unicodedata.bidirectional(ch) in _RTL_CLASSES for ch in text[found.start() :]
    )


# python-bidi's resolved level of each UTF-8 byte, in its debug answer (a pinned version's
# format: the test suite reads it on every run).
_LEVEL = re.compile(r"Level\(\s*(\d+),?\s*\)")


def _levels(text: str, base_dir: str) -> list[int] | None:
    """python-bidi's embedding level of each character of ``text`` (None if unreadable)."""
    info = str(get_display(text, base_dir=base_dir, debug=True))
    start = info.find("levels: [")
    by_byte = [int(n) for n in _LEVEL.findall(info[start : info.find("]", start)])]
    levels, at = [], 0
    for ch in text:
        if at >= len(by_byte):
            return None
        levels.append(by_byte[at])
        at += len(ch.encode("utf-8"))
    return levels if at == len(by_byte) else None


def _visual_positions(levels: list[int]) -> list[int]:
    """The logical index shown at each visual position: UAX #9 rule L2 over the levels (from
    the highest level down to the lowest odd one, reverse every run at or above it)."""
    order = list(range(len(levels)))
    odd = [lv for lv in levels if lv % 2]
    if not odd:
        return order
    for level in range(max(levels), min(odd) - 1, -1):
        i = 0
        while i < len(order):
            if levels[order[i]] < level:
                i += 1
                continue
            j = i
            while j < len(order) and levels[order[j]] >= level:
                j += 1
            order[i:j] = order[i:j][::-1]
            i = j
    return order


@lru_cache(maxsize=4096)
def visual(runs: tuple[tuple[str, Style | None], ...], rtl: bool) -> tuple[Segment, ...]:
    """One line's styled runs, shaped, in visual order as python-bidi orders the line's text
    (with bracket pairs and mirrored brackets), each character keeping its style, and the
    line's leading and trailing blanks kept in place."""
    chars = [(ch, style) for text, style in runs for ch in text]
    text = shape("".join(ch for ch, _ in chars))  # joined across style runs, as read
    chars = [(ch, style) for ch, (_, style) in zip(text, chars, strict=True)]
    core = text.strip(" ")
    lead = len(text) - len(text.lstrip(" "))
    base_dir = "R" if rtl else "L"
    shown = str(get_display(core, base_dir=base_dir))
    levels = _levels(core, base_dir)
    cells = chars[lead : lead + len(core)]
    positions = _visual_positions(levels) if levels is not None else []
    if levels is None or "".join(cells[i][0] for i in positions) != shown:
        # Our reading of its levels disagrees with its order: its text, in one style.
        style = max(cells, key=lambda c: cells.count(c))[1]
        ordered = [(ch, style) for ch in shown]
    else:
        # A terminal draws "(" as "(": in a right-to-left run the opening bracket is the
        # mirrored glyph (UAX #9 L4, python-bidi's table), which python-bidi leaves to us.
        ordered = [
            (MIRRORED.get(cells[i][0], cells[i][0]) if levels[i] % 2 else cells[i][0], cells[i][1])
            for i in positions
        ]
    ordered = chars[:lead] + ordered + chars[lead + len(core) :]
    out: list[Segment] = []
    for ch, style in ordered:
        if out and out[-1].style == style:
            out[-1] = Segment(out[-1].text + ch, style)
        else:
            out.append(Segment(ch, style))
    return tuple(out)


class VisualOrder(LineFilter):
    """Textual's hook on every rendered line of every widget: the one place text is reordered.
    ``right_to_left()`` says whether the till's language reads right to left, now (F9)."""

    def __init__(self, right_to_left: Callable[[], bool], enabled: bool = True) -> None:
        super().__init__(enabled)
        self.right_to_left = right_to_left

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        if not needs_reordering("".join(s.text for s in segments if not s.control)):
            return segments
        if any(s.control for s in segments):
            return segments  # cursor moves and the like: not text to reorder
        runs = tuple((s.text, s.style) for s in segments)
        return list(visual(runs, self.right_to_left()))
