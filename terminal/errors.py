"""The one error type the command line turns into a translated line on stderr."""

from __future__ import annotations

from typing import Any


class CommandError(Exception):
    """Bad input or a refused operation. ``key`` is a translation key, ``params`` fill it in."""

    def __init__(self, key: str, exit_code: int = 2, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
        self.exit_code = exit_code
