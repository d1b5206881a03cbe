"""``till headoffice jobs [--db URL]``: run head office's due jobs now (points expiry, tier
review, pending release, phone keys due to retire) on its clock, and print what they did as
JSON. The same jobs run on a schedule inside ``till headoffice serve`` (``--jobs-every``);
running both, or this twice, writes each entry once.

``till headoffice phone-keys [--rotate] [--db URL]``: the chain's phone keys (ids and dates,
never the keys), and with ``--rotate`` a new current one (sync/headoffice/phone_keys.py)."""

from __future__ import annotations

import argparse
from typing import Any

from terminal.errors import CommandError


def register_jobs(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "jobs",
        help="run head office's due jobs now: expiry, tier review, pending release, phone keys",
    )
    parser.add_argument("--db", default=None, help="SQLite path or postgresql:// URL")
    parser.set_defaults(func=jobs)
    keys = subparsers.add_parser(
        "phone-keys", help="list the chain's phone keys and when they retire; --rotate: a new one"
    )
    keys.add_argument("--rotate", action="store_true", help="make a new current phone key")
    keys.add_argument("--db", default=None, help="SQLite path or postgresql:// URL")
    keys.set_defaults(func=phone_keys)


def _open(args: argparse.Namespace) -> tuple[Any, str]:
    from sync.headoffice.serve import make_headoffice
    from terminal.commands.common import load_config

    db = args.db
    if db is None:
        db = str(load_config(args).data_dir / "headoffice.sqlite")
    try:
        return make_headoffice(db, None), db
    except Exception as exc:  # sqlite3 or psycopg: the driver's own error types
        raise CommandError(
            "sync.headoffice.bad_database", exit_code=1, db=db, detail=str(exc)[:200]
        ) from None


def jobs(args: argparse.Namespace) -> dict[str, Any]:
    import msgspec

    from sync.headoffice.jobs import run_due

    ho, db = _open(args)
    try:
        report = run_due(ho)
    finally:
        ho.store.close()
    out: dict[str, Any] = msgspec.structs.asdict(report)
    out["db"] = db
    return out


def phone_keys(args: argparse.Namespace) -> dict[str, Any]:
    from sync.headoffice import phone_keys as keys

    ho, db = _open(args)
    try:
        rotated = ho.rotate_phone_key() if args.rotate else None
        with ho.store.transaction() as tx:
            listed = keys.schedule(tx)
    finally:
        ho.store.close()
    return {"rotated": rotated, "phone_keys": listed, "db": db}
