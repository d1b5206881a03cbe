"""TOML with its nesting bounded before tomllib sees it. tomllib parses arrays and inline
tables by recursion: a document nested 5,000 deep (a program pushed to head office, a config
file) would raise RecursionError, a traceback at the till and a 500 at head office. No program
or config needs more than a few levels."""

from __future__ import annotations

import tomllib
from typing import Any

MAX_DEPTH = 32


class TooDeep(ValueError):
    """A document nested deeper than ``MAX_DEPTH`` arrays and inline tables."""


def _escaped(text: str, at: int) -> bool:
    """Whether the character at ``at`` is escaped by an odd run of backslashes."""
    count = 0
    while at - count - 1 >= 0 and text[at - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _string_end(text: str, i: int) -> int:
    """Where the string starting at ``i`` ends (the index after it)."""
    quote = text[i]
    n = len(text)
    if text.startswith(quote * 3, i):
        at = i + 3
        while True:
            k = text.find(quote * 3, at)
            if k < 0:
                return n  # unterminated: tomllib says so
            if quote == '"' and _escaped(text, k):
                at = k + 1
                continue
            k += 3
            while k < n and text[k] == quote and k - i < 3 + 2:  # up to two quotes of content
                k += 1
            return k
    j = i + 1
    while j < n and text[j] != quote and text[j] != "\n":
        j += 2 if quote == '"' and text[j] == "\\" else 1
    return j + 1


def depth_exceeds(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether brackets and braces outside strings and comments nest deeper than ``limit``."""
    depth, i, n = 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            i = _string_end(text, i)
        else:
            if c in "[{":
                depth += 1
                if depth > limit:
                    return True
            elif c in "]}":
                depth = max(0, depth - 1)
            i += 1
    return False


def loads(text: str, limit: int = MAX_DEPTH) -> dict[str, Any]:
    """tomllib.loads, refusing with TooDeep a document nested deeper than ``limit``."""
    if depth_exceeds(text, limit):
        raise TooDeep(limit)
    try:
        return tomllib.loads(text)
    except RecursionError:  # a backstop: the bound above should keep it from happening
        raise TooDeep(limit) from None
