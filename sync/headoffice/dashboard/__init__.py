"""The head-office dashboard: the KPIs of sync/headoffice/reports as one HTML page a program
manager reads each Monday, served by head office itself (no CDN, no script bundle): headline
figures, charts drawn server-side as SVG (svg.py), the cohort table as a heat map, drill-down
to a till, and the CSV download (page.py). Admins sign in with head office's admin token and
keep a session cookie (routes.py).

Texts come from the one who starts the server (``till headoffice serve`` hands in
terminal's translator as ``Words``): this package turns no code into text of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Words(Protocol):
    """What the page needs of a translator (terminal.i18n.Translator is one)."""

    lang: str

    @property
    def right_to_left(self) -> bool: ...

    def __call__(self, key: str, /, **params: Any) -> str: ...
    def number(self, value: int) -> str: ...
    def money(self, amount_minor: int, currency: str) -> str: ...


WordsFor = Callable[[str | None], Words]  # a language code (or None: the default) -> Words
LANGUAGES = ("en", "el", "pl", "ro", "th", "fa")
