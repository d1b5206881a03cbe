"""``till headoffice jobs [--db URL]``: run head office's due jobs now (points expiry, tier
review, pending release) on its clock, and print what they did as JSON. The same jobs run on
a schedule inside ``till headoffice serve`` (``--jobs-every``); running both, or this twice,
writes each entry once."""

from __future__ import annotations

import argparse
from typing import Any

from terminal.errors import CommandError


def register_jobs(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "jobs", help="run head office's due jobs now: expiry, tier review, pending release"
    )
    parser.add_argument("--db", default=None, help="SQLite path or postgresql:// URL")
    parser.set_defaults(func=jobs)


def jobs(args: argparse.Namespace) -> dict[str, Any]:
    import msgspec

    from sync.headoffice.jobs import run_due
    from sync.headoffice.serve import make_headoffice
    from terminal.commands.common import load_config

    db = args.db
    if db is None:
        db = str(load_config(args).data_dir / "headoffice.sqlite")
    try:
        ho = make_headoffice(db, None)
    except Exception as exc:  # sqlite3 or psycopg: the driver's own error types
        raise CommandError(
            "sync.headoffice.bad_database", exit_code=1, db=db, detail=str(exc)[:200]
        ) from None
    try:
        report = run_due(ho)
    finally:
        ho.store.close()
    out: dict[str, Any] = msgspec.structs.asdict(report)
    out["db"] = db
    return out
