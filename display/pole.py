"""A two-line customer pole display (the 2x20 VFDs on a till's pole) over TCP, as a second
backend of the shopper display: greeting and points while a member is served, what the sale
earned and the new balance at the end, the program's name and headline when idle.

``lines`` is pure (the view -> two lines of 20 characters); ``frame`` adds the display's
commands (ESC/POS customer-display set: ESC @ initialise, ESC t n code table, FF clear) and
encodes the text in the code page of the view's language, where the display has one: PC437
for English, PC737 for Greek, PC852 for Polish and Romanian (Romanian's comma-below ș ț as
the cedilla forms that code page has). Thai and Persian have no code page such a display
shows properly (Persian is also right to left): their lines keep the figures only, in Latin
digits. A character the code page lacks becomes "?"; nothing of a view's text can become a
command (the view's texts hold no control characters: display.text)."""

from __future__ import annotations

import socket
import threading
import unicodedata
from urllib.parse import urlsplit

from display.view import Figure, ShopperView

WIDTH = 20
ESC = b"\x1b"
INITIALISE = ESC + b"@"
CLEAR = b"\x0c"
# language -> (Python codec, ESC t table number in the Epson customer-display set)
CODE_PAGES = {"en": ("cp437", 0), "el": ("cp737", 14), "pl": ("cp852", 18), "ro": ("cp852", 18)}
_ROMANIAN = str.maketrans("șțȘȚ", "şţŞŢ")


def _fit(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def _figure(figure: Figure) -> str:
    """ "Label 1,250" in 20 columns: the value kept whole, the label cut to what is left."""
    value = figure.value.strip()
    room = WIDTH - len(value) - 1
    label = figure.label if len(figure.label) <= room else figure.label[: max(0, room - 1)] + "…"
    return f"{label:<{room}} {value}" if room > 0 else _fit(value)


def lines(view: ShopperView) -> tuple[str, str]:
    """The two lines the pole shows for ``view`` (before its code page)."""
    if view.screen == "idle":
        return _fit(view.program), _fit(view.headline)
    if view.screen in ("member", "basket") and view.member is not None:
        card = view.member
        second = card.figures[0] if card.figures else None
        if view.screen == "basket" and view.basket is not None:
            second = view.basket.total
        return _fit(card.greeting), _figure(second) if second else ""
    if view.screen == "ask" and view.ask is not None:
        return _fit(view.program), _fit(view.ask.title)
    if view.screen == "done" and view.end is not None:
        figures = view.end.figures
        first = _figure(figures[0]) if figures else _fit(view.end.heading)
        return first, _figure(figures[-1]) if len(figures) > 1 else _fit(view.end.heading)
    return "", ""


def _latin_digits(text: str) -> str:
    """Only the figures of a text, in Latin digits (for a language without a code page)."""
    out = []
    for ch in text:
        if ch.isdigit():
            out.append(str(unicodedata.digit(ch)))
        elif ch in ".,:/-+%€ " or ch == "\u066c":
            out.append("," if ch == "\u066c" else ch)
    return " ".join("".join(out).split())


def frame(view: ShopperView) -> bytes:
    """Everything the pole is sent for ``view``: initialise, code table, clear, both lines."""
    first, second = lines(view)
    codec, table = CODE_PAGES.get(view.lang, ("ascii", 0))
    if view.lang not in CODE_PAGES:
        first, second = _latin_digits(first)[:WIDTH], _latin_digits(second)[:WIDTH]
    if view.lang == "ro":
        first, second = first.translate(_ROMANIAN), second.translate(_ROMANIAN)
    text = f"{first:<{WIDTH}}{second:<{WIDTH}}".replace("…", ".")
    body = text.encode(codec, errors="replace")
    return INITIALISE + ESC + b"t" + bytes([table]) + CLEAR + body


class PoleDisplay:
    """A pole display at ``tcp://host:port``: each view is sent on one connection kept open
    (opened again after a failure). A display that is off or unplugged costs at most
    ``timeout`` per view and never an exception: the till goes on."""

    def __init__(self, url: str, timeout: float = 0.5) -> None:
        parts = urlsplit(url)
        if parts.scheme != "tcp" or not parts.hostname:
            raise ValueError(f"not a tcp://host:port pole display: {url[:80]}")
        self.address = (parts.hostname, parts.port or 9100)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self.failures = 0

    def show(self, view: ShopperView) -> None:
        data = frame(view)
        with self._lock:
            for _attempt in range(2):
                try:
                    if self._sock is None:
                        self._sock = socket.create_connection(self.address, self.timeout)
                    self._sock.sendall(data)
                    return
                except OSError:
                    self.failures += 1
                    self.close()

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
