"""What any text on the shopper's display may hold: no markup meaning (the page only ever sets
text), no control or bidi-override characters that would reorder the rest of the page, no run
of digits long enough to be a phone or a card number, and a bounded length.

Every text field of a view goes through ``clean`` when the view is built (display.view), so a
view cannot carry a phone or a full card number, whatever it was given."""

from __future__ import annotations

import re
import unicodedata

# Embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and the isolates (LRI, RLI, FSI, PDI):
# a name holding them could flip what follows it; the page isolates names itself.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Joiners shape Persian (ZWNJ) and emoji (ZWJ); marks keep a signed amount one run.
_KEEP_FORMAT = frozenset("\u200c\u200d\u200e\u200f")
# Digits of any script, with what people put between them in a phone or card number.
_DIGIT_RUN = re.compile(r"\d(?:[\s.\-/()+]*\d)*")
# Nine digits are a phone (a national number has 8 to 10) or more of a card number; a points
# balance or a date has fewer.
LONGEST_DIGIT_RUN = 8
MASK = "•"

TEXT_LIMIT = 200
NAME_LIMIT = 40


def _mask(match: re.Match[str]) -> str:
    run = match.group()
    digits = sum(ch.isdigit() for ch in run)
    if digits <= LONGEST_DIGIT_RUN:
        return run
    return "".join(MASK if ch.isdigit() else ch for ch in run)


def _allowed(ch: str) -> bool:
    if ch in _BIDI_CONTROLS:
        return False
    category = unicodedata.category(ch)
    if category == "Cf":
        return ch in _KEEP_FORMAT
    return category not in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp")


def clean(text: str, limit: int = TEXT_LIMIT) -> str:
    """``text`` as the display may show it (see the module's docstring)."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if _allowed(ch) else " " for ch in text[: limit * 4])
    text = " ".join(text.split())
    text = _DIGIT_RUN.sub(_mask, text)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def first_name(display_name: str) -> str:
    """The first word of a member's display name: all of them the display may show."""
    words = clean(display_name, NAME_LIMIT * 4).split()
    return clean(words[0], NAME_LIMIT) if words else ""
