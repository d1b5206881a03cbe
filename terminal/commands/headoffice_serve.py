"""``till headoffice serve [--db URL] [--port N]``: the reference head-office loyalty API on
uvicorn. SQLite by default (``headoffice.sqlite`` in the data directory), PostgreSQL when
``--db`` is a ``postgresql://`` URL.

Wired in by ``terminal/commands/headoffice.py`` (which owns ``till headoffice``) through
``register_serve(headoffice_subparsers, mint_code=...)``. Once listening it prints one JSON
line with its URL (and the admin token when it made one up) and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from loyalty.files import private_dir
from sync.redact import redact
from terminal.errors import CommandError

MintCode = Callable[[str], str]


def register_serve(
    subparsers: Any,
    mint_code: MintCode | None = None,
    public_keys: Sequence[tuple[str, bytes]] = (),
    signing: Callable[[], tuple[MintCode, Sequence[tuple[str, bytes]]]] | None = None,
) -> None:
    """``mint_code(member_id) -> app code`` lets head office issue member app codes, and
    ``public_keys`` ((key id, raw 32-byte Ed25519 public key), ...) are published at start so
    tills can verify them (the terminal passes scanner's minting and its key; sync may not
    import scanner). ``signing()`` gives both when ``serve`` runs (a key file read then)."""
    parser = subparsers.add_parser("serve", help="run the reference head-office loyalty API")
    parser.add_argument("--db", default=None, help="SQLite path or postgresql:// URL")
    parser.add_argument("--port", type=int, default=8750)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--program", default=None, help="publish this program file at start")
    parser.add_argument(
        "--jobs-every", type=float, default=3600.0, metavar="SECONDS",
        help="run the due jobs (expiry, tier review) at start and this often; 0: never",
    )  # fmt: skip

    def run(args: argparse.Namespace) -> None:
        if signing is not None:
            serve(args, *signing())
        else:
            serve(args, mint_code, public_keys)

    parser.set_defaults(func=run)


def dashboard_words(lang: str | None) -> Any:
    """The dashboard's texts in ``lang`` (else the command line's language): head office's
    pages take them from terminal, which alone turns keys into text."""
    from terminal.cli_language import cli_language
    from terminal.i18n import translator

    return translator(lang or cli_language())


def serve(
    args: argparse.Namespace,
    mint_code: MintCode | None = None,
    public_keys: Sequence[tuple[str, bytes]] = (),
) -> None:
    from printer.shaping import FONT_DIR  # the receipts' Noto fonts: the dashboard serves them
    from sync.headoffice.rows import ApiProblem
    from sync.headoffice.serve import make_headoffice
    from sync.headoffice.serve import serve as run_server
    from terminal.commands.common import load_config

    db = args.db
    if db is None:
        folder = private_dir(load_config(args).data_dir)
        db = str(folder / "headoffice.sqlite")
    admin_token = os.environ.get("TILL_HEADOFFICE_ADMIN_TOKEN")
    made_up = admin_token is None
    if admin_token is None:
        admin_token = secrets.token_urlsafe(24)
    try:
        ho = make_headoffice(db, admin_token, None, mint_code)
    except Exception as exc:  # sqlite3 or psycopg: the driver's own error types
        raise CommandError(
            "sync.headoffice.bad_database",
            exit_code=1,
            db=redact(db),
            detail=redact(str(exc))[:200],
        ) from None
    for key_id, raw in public_keys:
        ho.add_key(key_id, base64.b64encode(raw).decode())
    if args.program:
        try:
            ho.publish_program(Path(args.program).read_text(encoding="utf-8"))
        except (OSError, ApiProblem) as exc:
            params = exc.params if isinstance(exc, ApiProblem) else {}
            raise CommandError(
                "sync.headoffice.bad_program", path=args.program,
                field=params.get("field", "(file)"), problem=params.get("problem", str(exc)),
            ) from None  # fmt: skip

    def ready(url: str) -> None:
        line: dict[str, str] = {"url": url, "db": redact(db)}
        if made_up:
            line["admin_token"] = admin_token
        print(json.dumps(line), flush=True)

    try:
        run_server(ho, args.host, args.port, on_ready=ready, jobs_every=args.jobs_every,
                   words=dashboard_words, fonts=FONT_DIR)  # fmt: skip
    except OSError as exc:
        raise CommandError(
            "sync.headoffice.cannot_listen", exit_code=1, host=args.host, port=args.port,
            detail=exc.strerror or str(exc),
        ) from None  # fmt: skip
    except KeyboardInterrupt:
        pass
    sys.stdout.flush()
