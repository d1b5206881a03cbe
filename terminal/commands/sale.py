"""till sale: earn (and redeem) for one basket, as one transaction with its receipt number."""

from __future__ import annotations

import argparse
from typing import Any

from loyalty import sales
from loyalty.money import format_plain
from loyalty.policy import Override
from loyalty.sales import SaleRequest, SaleResult
from terminal.commands.common import balance_json, basket, entry_json, open_till


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sale", help="record a sale for a member")
    p.add_argument("--member", required=True, help="member id, card number or phone number")
    p.add_argument("--total", help="basket total, e.g. 12.50")
    p.add_argument(
        "--line",
        action="append",
        metavar="SKU,CATEGORY,AMOUNT",
        help="a basket line (repeatable); with --total they must add up",
    )
    p.add_argument("--redeem", metavar="REWARD_ID", help="a reward from the program")
    p.add_argument("--pay-points", type=int, default=0, metavar="N", help="points as payment")
    p.add_argument("--cashier", help="cashier id (default: config or TILL_CASHIER)")
    p.add_argument("--override-manager", metavar="ID", help="manager overriding the offline policy")
    p.add_argument("--override-reason", metavar="TEXT", help="why the manager overrides")
    p.add_argument("--preview", action="store_true", help="show what it would do; write nothing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> dict[str, Any]:
    till, cfg = open_till(args)
    try:
        program = till.program
        member = till.find_member(args.member)
        override = None
        if args.override_manager:
            override = Override(args.override_manager, args.override_reason or "")
        req = SaleRequest(
            member_id=member.member_id,
            cashier_id=args.cashier or cfg.cashier,
            lines=basket(args.total, args.line, program.minor_units),
            reward_id=args.redeem,
            payment_points=args.pay_points,
            override=override,
        )
        result = sales.preview(till, req) if args.preview else sales.sale(till, req)
        return sale_json(result, program.minor_units)
    finally:
        till.close()


def sale_json(r: SaleResult, digits: int) -> dict[str, Any]:
    p = r.pricing
    return {
        "receipt_no": r.receipt_no,
        "occurred_at": r.occurred_at.isoformat(),
        "total_minor": p.total_minor,
        "discount_minor": p.discount_minor,
        "donation_minor": p.donation_minor,
        "payment_points": p.payment_points,
        "payment_minor": p.payment_minor,
        "paid_minor": p.paid_minor,
        "paid": format_plain(p.paid_minor, digits),
        "reward": p.reward.id if p.reward else None,
        "points_earned": r.points_earned,
        "points_redeemed": p.redeemed_points,
        "earned": [{"reason": e.reason, "points": e.points} for e in r.earned],
        "redemption_mode": r.mode,
        "balance_before": r.before.available,
        "balance_after": r.after.available,
        "balance": balance_json(r.after),
        "entries": [entry_json(e) for e in r.entries],
    }
