"""A till's credentials at head office: its own token, kept beside its database readable by
its owner only, and the registration that issues it (``till init --headoffice URL``)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from loyalty.files import tighten
from sync import protocol as p
from sync.client import _JSON, SyncFailed, Timeouts, _decoder, _problem


def token_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / "headoffice.token"


def save_token(data_dir: str | Path, token: str) -> Path:
    """Keep the till's head-office token beside its database, readable by its owner only."""
    path = token_path(data_dir)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load_token(data_dir: str | Path) -> str | None:
    """The saved token; a token file found open to others is made private first (or refused:
    loyalty.files)."""
    tighten(token_path(data_dir))
    try:
        return token_path(data_dir).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def register_till(
    base_url: str,
    terminal_id: str,
    admin_token: str,
    *,
    replace: bool = False,
    timeouts: Timeouts | None = None,
    transport: httpx.BaseTransport | None = None,
) -> str:
    """Ask head office for this till's own token (``till init --headoffice URL`` calls this,
    then ``save_token``). Raises SyncFailed (``till_exists``, ``admin_only``, network codes)."""
    body = p.encode(p.TillRequest(terminal_id, replace))
    timeout = (timeouts or Timeouts()).httpx()
    with httpx.Client(
        base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
        trust_env=False, headers={"Authorization": f"Bearer {admin_token}"},
    ) as http:  # fmt: skip
        try:
            resp = http.post("/v1/tills", content=body, headers=_JSON)
        except httpx.TimeoutException:
            raise SyncFailed("timeout") from None
        except httpx.TransportError:
            raise SyncFailed("unreachable") from None
    if resp.status_code != 201:
        problem = _problem(resp.content)
        params = dict(problem.params) if problem else {}
        raise SyncFailed(problem.code if problem else f"http_{resp.status_code}", **params)
    token: p.TillToken = _decoder(p.TillToken).decode(resp.content)
    return token.token
