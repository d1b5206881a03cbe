"""The program's terms, as a shopper accepts them to enrol: a version and the text in each
language (``[terms]`` in the program document). The version is what an enrolment records as
consented to; a program without terms records the till's built-in version (loyalty.till) and
cannot be accepted on the shopper display, which has nothing to show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loyalty.program import Localised, _Reader

MAX_VERSION = 64  # the wire's bound on a consent version (sync.protocol Text64)
MAX_TEXT = 4000  # characters of one language's text: what a display can show and scroll


@dataclass(frozen=True, slots=True)
class Terms:
    version: str
    text: Localised  # {"en": "...", "el": "..."}; English required


def read_terms(r: _Reader) -> Terms | None:
    """``[terms]``: ``version`` and ``text``; None when the program has none."""
    if not r.data:
        return None
    version = r.text("version")
    if len(version) > MAX_VERSION:
        raise r.fail("version", "above_maximum", maximum=MAX_VERSION, value=len(version))
    text = r.localised("text")
    for lang, body in text.items():
        if len(body) > MAX_TEXT:
            raise r.fail(f"text.{lang}", "above_maximum", maximum=MAX_TEXT, value=len(body))
    return Terms(version=version, text=text)
