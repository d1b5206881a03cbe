"""Keyboard-wedge scanners and typed codes, without any UI.

A wedge scanner is a USB keyboard that types the code it read, fast, and presses Enter.
``BurstDetector`` is fed the till's key events as ``(key, timestamp)`` and tells a scanner's burst
from a person typing by the gaps between keys. ``verify_typed`` then checks the text, undoing what
the till's keyboard layout did to it: the scanner sends US key positions, so on a Greek layout
``LT`` arrives as ``ΛΤ``, on AZERTY the digit row arrives as ``&é"'(-è_çà``, on QWERTZ Y and Z
swap, on Thai and Persian layouts nothing is Latin (``scanner/layouts.py``, generated from
xkb-data). App codes use an alphabet that every one of those layouts can be undone for; text
that is in a layout's script but still does not verify is refused as ``wrong_keyboard_layout``
so the cashier is told to switch the till's layout.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scanner.codes import (
    ALPHABET,
    PREFIX,
    MemberCode,
    Reason,
    ScanRefused,
    is_card_number,
    verify,
)
from scanner.layouts import LAYOUTS

ENTER_KEYS = frozenset({"\r", "\n", "enter", "ctrl+m", "ctrl+j"})
# AIM symbology identifier a scanner may put in front: "]Q1" for QR, "]E0" for EAN-13, ...
_AIM_ID = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_CONTROL = dict.fromkeys([*range(0x20), 0x7F])  # STX, ETX, GS, RS, EOT ... scanners add them
# Refusals that only a code which parsed (and, for app codes, was signed) can earn: another
# layout's reading of the same keys cannot do better.
_FINAL = frozenset(
    {
        Reason.EXPIRED,
        Reason.NOT_YET_VALID,
        Reason.REVOKED,
        Reason.BLOCKED,
        Reason.REPLAY,
        Reason.UNKNOWN_KEY,
    }
)


@dataclass(frozen=True)
class WedgeScan:
    """A burst typed by a scanner: ``text`` without the scanner's prefix and suffix."""

    text: str
    duration_s: float


@dataclass(frozen=True)
class TypedLine:
    """Keys a person typed, ended with Enter (manual entry of a card number)."""

    text: str


class BurstDetector:
    """Tells a scanner's burst from typing. Not thread-safe: feed it from the UI's event loop.

    ``feed(key, at)`` takes one key event: a single character, or a key name (``"enter"``);
    ``at`` is a monotonic time in seconds. On Enter it returns a ``WedgeScan`` when at least
    ``min_length`` characters came with every gap (Enter's included) at most ``max_gap_s``, a
    ``TypedLine`` otherwise, and None for an empty line (a CR LF suffix gives two Enters).
    Characters before a longer gap belong to a person, not to the burst that follows them.
    Scanners set to send no suffix end a burst by falling silent: call ``poll(now)`` now and then
    and it returns the burst once ``idle_end_s`` passed (only when ``end_on_idle``).
    ``prefix`` and ``suffix`` are what the scanner is configured to add; control characters and
    an AIM symbology identifier (``]Q1``) are always removed.
    """

    def __init__(
        self,
        *,
        min_length: int = 6,
        max_gap_s: float = 0.04,
        prefix: str = "",
        suffix: str = "",
        enter_keys: Iterable[str] = ENTER_KEYS,
        end_on_idle: bool = False,
        idle_end_s: float = 0.15,
    ) -> None:
        self.min_length = min_length
        self.max_gap_s = max_gap_s
        self.prefix = prefix
        self.suffix = suffix
        self.enter_keys = frozenset(enter_keys)
        self.end_on_idle = end_on_idle
        self.idle_end_s = idle_end_s
        self._chars: list[str] = []
        self._run_start = 0  # index in _chars where the current fast run began
        self._first_at = 0.0  # time of the run's first key
        self._last_at: float | None = None

    def reset(self) -> None:
        self._chars.clear()
        self._run_start = 0
        self._last_at = None

    def feed(self, key: str, at: float) -> WedgeScan | TypedLine | None:
        if key in self.enter_keys:
            return self._end(at)
        if len(key) != 1:
            return None  # shift, ctrl, function keys: nothing typed
        if self._last_at is None or at - self._last_at > self.max_gap_s:
            self._run_start = len(self._chars)
            self._first_at = at
        self._chars.append(key)
        self._last_at = at
        return None

    def poll(self, now: float) -> WedgeScan | None:
        if not self.end_on_idle or self._last_at is None or now - self._last_at < self.idle_end_s:
            return None
        run = self._chars[self._run_start :]
        if len(run) < self.min_length:
            return None
        scan = WedgeScan(self._clean("".join(run)), self._last_at - self._first_at)
        self.reset()
        return scan

    def _end(self, at: float) -> WedgeScan | TypedLine | None:
        last = self._last_at
        chars, run = self._chars[:], self._chars[self._run_start :]
        first = self._first_at
        self.reset()
        if not chars:
            return None
        if last is not None and at - last <= self.max_gap_s and len(run) >= self.min_length:
            return WedgeScan(self._clean("".join(run)), at - first)
        return TypedLine("".join(chars))

    def _clean(self, text: str) -> str:
        text = text.translate(_CONTROL)
        if self.prefix and text.startswith(self.prefix):
            text = text[len(self.prefix) :]
        if self.suffix and text.endswith(self.suffix):
            text = text[: -len(self.suffix)]
        return _AIM_ID.sub("", text)


def _ascii_digits(text: str) -> str:
    """Any script's decimal digits (Persian ۱۲۳, Thai ๑๒๓) as ASCII; others unchanged."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def _shaped(text: str) -> bool:
    """Could this be a member code at all (a card number or an app code's letters)?"""
    if is_card_number(text):
        return True
    return text.startswith(PREFIX) and all(c in ALPHABET for c in text[len(PREFIX) :])


def readings(text: str) -> list[tuple[str, str | None]]:
    """The ways to read typed ``text``: ``(code text, layout undone or None)``, likeliest first.

    As typed (upper-cased, since Caps Lock lower-cases a scanner's capitals); with spaces and
    dashes between digit groups removed and any script's digits made ASCII (manual entry of a
    card number); and through each layout of ``scanner/layouts.py``. Only readings shaped like
    a member code are returned.
    """
    text = text.translate(_CONTROL).strip()
    out: list[tuple[str, str | None]] = []

    def add(candidate: str, layout: str | None) -> None:
        if _shaped(candidate) and all(candidate != seen for seen, _ in out):
            out.append((candidate, layout))

    add(text.upper(), None)
    add(_ascii_digits(re.sub(r"[\s-]", "", text)), None)
    for layout, table in LAYOUTS.items():
        undone = "".join(table.get(c, c) for c in text).upper()
        if undone != text.upper():
            add(undone, layout)
    return out


def _layout_of(text: str) -> str | None:
    """The layout most of the text's non-ASCII characters come from, if any."""
    foreign = [c for c in text if not c.isascii() and not c.isspace()]
    if not foreign:
        return None
    best = max(LAYOUTS, key=lambda name: sum(c in LAYOUTS[name] for c in foreign))
    return best if any(c in LAYOUTS[best] for c in foreign) else None


def verify_typed(
    text: str,
    keys: Mapping[str, bytes],
    now: dt.datetime,
    **options: Any,
) -> MemberCode | ScanRefused:
    """Check a code from a wedge scanner or typed by hand; ``options`` as for ``verify``.

    Tries each reading of ``readings(text)``; the first that verifies wins and carries the
    layout it undid. A reading that parsed but was refused for its own sake (expired, revoked,
    replay...) is reported as such. Text in another layout's script that gives no member code is
    ``wrong_keyboard_layout`` with that layout's XKB name as ``layout``.
    """
    if len(text) > 4 * 256:
        return ScanRefused(Reason.NOT_A_MEMBER_CODE)
    first: ScanRefused | None = None
    for candidate, layout in readings(text):
        result = verify(candidate, keys, now, **options)
        if isinstance(result, MemberCode):
            return dataclasses.replace(result, layout=layout)
        if result.reason in _FINAL:
            return result
        first = first or result
    if first is not None and first.reason in (Reason.BAD_SIGNATURE, Reason.BAD_CHECK_DIGIT):
        return first  # it read as a code, and that code is wrong
    layout = _layout_of(text)
    if layout is not None:
        return ScanRefused(Reason.WRONG_KEYBOARD_LAYOUT, {"layout": layout})
    return first or ScanRefused(Reason.NOT_A_MEMBER_CODE)
