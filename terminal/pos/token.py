"""The till API's bearer token: a random secret in ``<data_dir>/pos_api.token`` (0600, made on
first use, like the till's other secrets), which the shop gives its POS."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from loyalty.files import private_dir, private_file

TOKEN_FILE = "pos_api.token"


def token_path(data_dir: Path) -> Path:
    return Path(data_dir) / TOKEN_FILE


def ensure_token(data_dir: Path) -> str:
    """The token, made (and kept private) when the file is missing or empty."""
    private_dir(data_dir)
    path = private_file(token_path(data_dir))
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        text = secrets.token_urlsafe(32)
        path.write_text(text + "\n", encoding="utf-8")
    return text


def matches(expected: str, header: str | None) -> bool:
    """Whether an ``Authorization`` header carries the token (compared in constant time)."""
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), expected.encode())
