"""till init: set up a data directory for one till."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from loyalty.errors import ProgramError
from loyalty.till import Till
from terminal.commands.common import load_config
from terminal.commands.sync import KNOWN
from terminal.errors import CommandError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="set up a data directory for a till")
    p.add_argument("--terminal-id", required=True, help="this till's id, e.g. ATH01-T1")
    p.add_argument("--program", required=True, help="the loyalty program (TOML)")
    p.add_argument("--members", help="a CSV of members to start the cache with")
    p.add_argument(
        "--country",
        help="the shop's country (ISO 3166, e.g. PL): phone numbers typed without + are read "
        "as this country's (default: the program's country, if it names one)",
    )
    p.add_argument("--headoffice", help="head office's base URL (kept in the config file)")
    p.add_argument(
        "--admin-token",
        default=os.environ.get("TILL_HEADOFFICE_ADMIN_TOKEN"),
        help="head office's admin token, to register this till (TILL_HEADOFFICE_ADMIN_TOKEN)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> dict[str, Any]:
    cfg = load_config(args)
    try:
        text = Path(args.program).read_text(encoding="utf-8")
    except OSError as exc:
        raise ProgramError(
            args.program, "(file)", "unreadable", detail=exc.strerror or ""
        ) from None
    except UnicodeDecodeError:
        raise ProgramError(args.program, "(file)", "not_utf8") from None
    till = Till.open(cfg.data_dir, must_exist=False)
    try:
        program = till.initialise(args.terminal_id, text, args.program, country=args.country)
        imported = till.import_members(Path(args.members)) if args.members else 0
    finally:
        till.close()
    out: dict[str, Any] = {
        "terminal_id": args.terminal_id,
        "data_dir": str(cfg.data_dir),
        "program_version": program.version,
        "members_imported": imported,
        "headoffice": args.headoffice,
        "registered": False,
    }
    if args.headoffice:
        remember_headoffice(cfg.data_dir / "config.toml", args.headoffice)
        if args.admin_token:
            out.update(
                register_with_headoffice(
                    cfg.data_dir, args.headoffice, args.terminal_id, args.admin_token
                )
            )
    return out


def register_with_headoffice(
    data_dir: Path, url: str, terminal_id: str, admin_token: str
) -> dict[str, Any]:
    """Get this till's own token from head office, keep it (0600), and sync once so the till
    starts with head office's members, program and keys."""
    from sync.client import SyncClient, SyncFailed
    from sync.credentials import register_till, save_token

    try:
        token = register_till(url, terminal_id, admin_token)
    except SyncFailed as exc:
        raise CommandError(
            f"sync.error.{exc.code}" if exc.code in KNOWN else "sync.error.other",
            exit_code=1,
            code=exc.code,
            **exc.params,
        ) from None
    save_token(data_dir, token)
    till = Till.open(data_dir)
    try:
        with SyncClient(till, url, token) as client:
            report = client.sync()
    except SyncFailed as exc:
        return {"registered": True, "first_sync": exc.code}
    finally:
        till.close()
    return {"registered": True, "first_sync": "ok", "members_pulled": report.members}


def remember_headoffice(path: Path, url: str) -> None:
    """Set ``headoffice`` in the config file: a top-level key, so it goes before any table."""
    lines = []
    if path.exists():
        lines = [
            x
            for x in path.read_text(encoding="utf-8").splitlines()
            if not x.startswith("headoffice")
        ]
    path.write_text("\n".join([f"headoffice = {json.dumps(url)}", *lines]) + "\n", encoding="utf-8")
