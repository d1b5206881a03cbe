"""Text that came from outside (a member's name from the till's keyboard or from head office),
made harmless to show on screen or print, without changing what is stored.

* C0 and C1 control characters and DEL become ``?``: on a terminal they are escape sequences,
  and an ESC/POS printer would take them as commands (cut the paper, open the drawer).
* Bidi embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069) are left out: an
  unbalanced RIGHT-TO-LEFT OVERRIDE in a name would reverse the rest of its line ("Total"
  and the amount on a receipt row). The letters stay; each script keeps its own direction.
  Marks that only hint a direction (LRM, RLM, ALM) and joiners (ZWJ, ZWNJ, which Persian
  names need) are kept.
"""

from __future__ import annotations

_CONTROLS = {c: "?" for c in [*range(0x20), *range(0x7F, 0xA0)]}
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_TABLE = {**_CONTROLS, **_BIDI_CONTROLS}


def shown(text: str) -> str:
    """``text`` as it may be shown or printed (see the module's docstring)."""
    return text.translate(_TABLE)
