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
command (the view's texts hold no control characters: display.text).

A pole whose character set is fixed (many show one table only, or a shop sets one for all its
languages) names it in its address: ``tcp://host:port?codepage=cp852`` (a codec name of
``DEVICE_CODE_PAGES``). Every frame is then in that code page, and a line it cannot show
(Greek on a Polish pole, any Thai or Persian) falls back as clearly as a language without a
code page: its figures only, in Latin digits; a line without figures shows the program's name
when the code page can show that, else nothing. Never a line of "?"."""

from __future__ import annotations

import codecs
import contextlib
import socket
import threading
import unicodedata
from urllib.parse import parse_qs, urlsplit

from display.view import Figure, ShopperView

WIDTH = 20
ESC = b"\x1b"
INITIALISE = ESC + b"@"
CLEAR = b"\x0c"
# language -> (Python codec, ESC t table number in the Epson customer-display set)
CODE_PAGES = {"en": ("cp437", 0), "el": ("cp737", 14), "pl": ("cp852", 18), "ro": ("cp852", 18)}
_ROMANIAN = str.maketrans("șțȘȚ", "şţŞŢ")
# The code pages a pole may be fixed to (``?codepage=``): Python codec -> ESC t table number.
DEVICE_CODE_PAGES = {
    "cp437": 0,
    "cp850": 2,
    "cp860": 3,
    "cp863": 4,
    "cp865": 5,
    "cp737": 14,
    "iso8859-7": 15,
    "cp1252": 16,
    "cp866": 17,
    "cp852": 18,
    "cp858": 19,
    "cp1250": 45,
    "cp1253": 47,
}


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


def _figures_only(line: str) -> str:
    """A line's figures in Latin digits ("2,500"), or "" when it has none (a greeting)."""
    if not any(ch.isdigit() for ch in line):
        return ""
    return _latin_digits(line).strip(" .,:/")[:WIDTH]


def _encodable(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def frame(view: ShopperView, code_page: str | None = None) -> bytes:
    """Everything the pole is sent for ``view``: initialise, code table, clear, both lines;
    in the view's language's code page, or in ``code_page`` when the pole is fixed to one."""
    first, second = lines(view)
    if view.lang == "ro":
        first, second = first.translate(_ROMANIAN), second.translate(_ROMANIAN)
    first, second = first.replace("…", "."), second.replace("…", ".")
    if code_page is None:
        codec, table = CODE_PAGES.get(view.lang, ("ascii", 0))
        if view.lang not in CODE_PAGES:
            first, second = _latin_digits(first)[:WIDTH], _latin_digits(second)[:WIDTH]
    else:
        codec, table = code_page, DEVICE_CODE_PAGES[code_page]
        fallback = _fit(view.program) if _encodable(_fit(view.program), codec) else ""
        first, second = (
            line if _encodable(line, codec) else (_figures_only(line) or fallback)
            for line in (first, second)
        )
    text = f"{first:<{WIDTH}}{second:<{WIDTH}}"
    body = text.encode(codec, errors="replace")
    return INITIALISE + ESC + b"t" + bytes([table]) + CLEAR + body


class PoleDisplay:
    """A pole display at ``tcp://host:port`` (``?codepage=cp852``: fixed to that code page):
    each view is sent on one connection kept open (opened again after a failure). A display
    that is off or unplugged costs at most ``timeout`` per view and never an exception: the
    till goes on."""

    def __init__(self, url: str, timeout: float = 0.5) -> None:
        parts = urlsplit(url)
        if parts.scheme != "tcp" or not parts.hostname:
            raise ValueError(f"not a tcp://host:port pole display: {url[:80]}")
        query = parse_qs(parts.query)
        page = query.pop("codepage", [""])[-1].strip() or None
        for name in (page, page.replace("-", "") if page else None):
            with contextlib.suppress(LookupError):
                page = codecs.lookup(name).name if name else None  # "CP-852" is cp852
                break
        if page is not None and page not in DEVICE_CODE_PAGES:
            known = ", ".join(DEVICE_CODE_PAGES)
            raise ValueError(f"pole code page {page[:20]!r} is not one of {known}")
        if query:
            raise ValueError(f"unknown pole display option: {sorted(query)[0][:20]}")
        self.code_page = page
        self.address = (parts.hostname, parts.port or 9100)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self.failures = 0

    def show(self, view: ShopperView) -> None:
        data = frame(view, self.code_page)
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
