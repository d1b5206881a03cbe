"""till refund: a whole receipt or some of its lines; points reversed in proportion."""

from __future__ import annotations

import argparse
from typing import Any

from loyalty import refunds
from loyalty.errors import BadInput
from loyalty.money import parse_amount
from loyalty.rules import BasketLine
from terminal.commands.authority import cashier_id
from terminal.commands.common import balance_json, entry_json, open_till


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("refund", help="refund a receipt, whole or some lines")
    p.add_argument("--receipt", required=True, help="the receipt number, e.g. ATH01-T1-000042")
    p.add_argument(
        "--line",
        action="append",
        metavar="SKU[,CATEGORY],AMOUNT",
        help="refund only this much of a line (repeatable); default: everything left",
    )
    p.add_argument("--cashier", help="a configured cashier id (default: config or TILL_CASHIER)")
    p.set_defaults(func=run)


def _line(text: str, digits: int) -> BasketLine:
    parts = [x.strip() for x in text.split(",")]
    if len(parts) not in (2, 3):
        raise BadInput("malformed_line", sku=text[:64], category="")
    # The category comes from the original receipt; one given here is only a label.
    return BasketLine(
        parts[0], parts[1] if len(parts) == 3 else "-", parse_amount(parts[-1], digits)
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    till, cfg = open_till(args)
    try:
        digits = till.program.minor_units
        lines = [_line(x, digits) for x in args.line] if args.line else None
        r = refunds.refund(till, args.receipt, cashier_id(args, cfg), lines)
    finally:
        till.close()
    return {
        "receipt_no": r.receipt_no,
        "refund_of": r.refund_of,
        "amount_minor": r.amount_minor,
        "whole": r.whole,
        "points_reversed": r.points_reversed,
        "points_returned": r.points_returned,
        "shortfall": r.shortfall,
        "balance_before": r.before.available,
        "balance_after": r.after.available,
        "balance": balance_json(r.after),
        "entries": [entry_json(e) for e in r.entries],
    }
