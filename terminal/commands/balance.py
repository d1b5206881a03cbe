"""till balance: what a member has, as this till sees it."""

from __future__ import annotations

import argparse
from typing import Any

from terminal.commands.common import balance_json, open_till


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("balance", help="a member's balance, tier and pending points")
    p.add_argument("member", help="member id, card number or phone number")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> dict[str, Any]:
    till, _cfg = open_till(args)
    try:
        member = till.find_member(args.member)
        balance = till.balance(member.member_id)
    finally:
        till.close()
    return {
        "display_name": member.display_name,
        "language": member.language,
        **balance_json(balance),
    }
