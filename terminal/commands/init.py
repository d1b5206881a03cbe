"""till init: set up a data directory for one till."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from loyalty.errors import ProgramError
from loyalty.till import Till
from terminal.commands.common import load_config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="set up a data directory for a till")
    p.add_argument("--terminal-id", required=True, help="this till's id, e.g. ATH01-T1")
    p.add_argument("--program", required=True, help="the loyalty program (TOML)")
    p.add_argument("--members", help="a CSV of members to start the cache with")
    p.add_argument("--headoffice", help="head office's base URL (kept in the config file)")
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
        program = till.initialise(args.terminal_id, text, args.program)
        imported = till.import_members(Path(args.members)) if args.members else 0
    finally:
        till.close()
    if args.headoffice:
        _remember_headoffice(cfg.data_dir / "config.toml", args.headoffice)
    return {
        "terminal_id": args.terminal_id,
        "data_dir": str(cfg.data_dir),
        "program_version": program.version,
        "members_imported": imported,
        "headoffice": args.headoffice,
    }


def _remember_headoffice(path: Path, url: str) -> None:
    lines = []
    if path.exists():
        lines = [
            x
            for x in path.read_text(encoding="utf-8").splitlines()
            if not x.startswith("headoffice")
        ]
    lines.append(f"headoffice = {url!r}".replace("'", '"'))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
