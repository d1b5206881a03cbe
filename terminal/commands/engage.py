"""till engage: an engagement action a cashier records at the till (a profile completed at
enrolment, an email sign-up): the program's points for it, synced like a sale's."""

from __future__ import annotations

import argparse
from typing import Any

from terminal.commands.authority import cashier_id
from terminal.commands.common import balance_json, open_till


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "engage", help="record an engagement action at the till (e.g. profile_completed)"
    )
    p.add_argument("member", help="the member's id")
    p.add_argument(
        "action", help="an action of the program's engagement rules that a till may record"
    )
    p.add_argument("--cashier", help="a configured cashier id (default: config or TILL_CASHIER)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from loyalty.engagement_at_till import record

    till, cfg = open_till(args)
    try:
        entry = record(till, args.member, args.action, cashier_id(args, cfg))
        balance = till.balance(entry.member_id)
    finally:
        till.close()
    return {
        "entry_id": entry.entry_id,
        "member_id": entry.member_id,
        "action": args.action,
        "points": entry.points,
        "balance": balance_json(balance),
    }
