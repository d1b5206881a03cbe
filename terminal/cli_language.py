"""The language of the command line's messages: TILL_LANGUAGE, else LANG, else English."""

from __future__ import annotations

import os


def cli_language() -> str:
    return os.environ.get("TILL_LANGUAGE") or os.environ.get("LANG", "en")
