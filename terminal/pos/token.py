"""The till API's bearer tokens: random secrets in ``<data_dir>/pos_api.token`` (0600, made on
first use, like the till's other secrets), which the shop gives its POS.

Every non-empty line of the file is a valid token, and the API reads the file again whenever
it changes, so a token is changed without restarting the till: add the new token as a second
line, give it to the POS, then delete the old line (``docs/pos.md``, "Changing the token")."""

from __future__ import annotations

import hmac
import os
import secrets
import threading
from pathlib import Path

from loyalty.files import private_dir, private_file

TOKEN_FILE = "pos_api.token"


def token_path(data_dir: Path) -> Path:
    return Path(data_dir) / TOKEN_FILE


def ensure_token(data_dir: Path) -> str:
    """The first token, made (and kept private) when the file is missing or empty."""
    private_dir(data_dir)
    path = private_file(token_path(data_dir))
    tokens = read_tokens(path)
    if not tokens:
        tokens = [secrets.token_urlsafe(32)]
        path.write_text(tokens[0] + "\n", encoding="utf-8")
    return tokens[0]


def read_tokens(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def matches(expected: str, header: str | None) -> bool:
    """Whether an ``Authorization`` header carries the token (compared in constant time)."""
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), expected.encode())


class TokenFile:
    """The valid tokens, as the file says now: read again when its size, time or inode
    changed (a stat per request, no restart). An empty or removed file lets nobody in (that
    is how a shop shuts every POS out at once) until a token is written to it again."""

    def __init__(self, data_dir: Path) -> None:
        ensure_token(data_dir)
        self.path = token_path(data_dir)
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._tokens: tuple[str, ...] = ()
        self.tokens()

    def tokens(self) -> tuple[str, ...]:
        try:
            st = os.stat(self.path)
        except OSError:
            self._seen, self._tokens = None, ()
            return ()
        seen = (st.st_mtime_ns, st.st_size, st.st_ino)
        if seen != self._seen:
            with self._lock:
                try:
                    self._tokens = tuple(read_tokens(self.path))
                except OSError:
                    self._tokens = ()
                self._seen = seen
        return self._tokens

    def allows(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries one of the tokens (each compared in
        constant time, all of them compared)."""
        found = False
        for token in self.tokens():
            found |= matches(token, header)
        return found
