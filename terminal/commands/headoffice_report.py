"""``till headoffice report [--from D] [--to D] [--by day|week|month] [--shop T]
[--format json|csv] [--db URL]``: head office's KPIs for a period of shop days (docs/kpis.md),
read from its database on its clock: the whole report as JSON, or its buckets as CSV (the same
table as ``GET /v1/reports/kpis?format=csv`` and the dashboard's download)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from terminal.errors import CommandError


def register_report(subparsers: Any) -> None:
    p = subparsers.add_parser("report", help="the program's KPIs for a period, as JSON or CSV")
    p.add_argument("--from", dest="start", metavar="D", help="first shop day (YYYY-MM-DD)")
    p.add_argument("--to", dest="end", metavar="D", help="last shop day (default: today)")
    p.add_argument("--by", default="day", help="day, week or month (default: day)")
    p.add_argument("--shop", metavar="T", help="one till's figures (default: the chain)")
    p.add_argument("--format", default="json", choices=("json", "csv"))
    p.add_argument("--db", default=None, help="SQLite path or postgresql:// URL")
    p.set_defaults(func=report)


def report(args: argparse.Namespace) -> dict[str, Any] | None:
    from sync.headoffice.reports import ReportError, csv_text, for_headoffice
    from terminal.commands.headoffice_jobs import _open

    ho, db = _open(args)
    try:
        doc = for_headoffice(ho, args.start, args.end, args.by, args.shop)
    except ReportError as exc:
        raise CommandError(f"headoffice.report.{exc.code}", **exc.params) from None
    finally:
        ho.store.close()
    if args.format == "csv":
        sys.stdout.write(csv_text(doc))
        return None
    doc["db"] = db
    return doc
