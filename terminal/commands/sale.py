"""till sale: earn (and redeem) for one basket, as one transaction with its receipt number."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from loyalty import sales
from loyalty.members import Member
from loyalty.money import format_plain
from loyalty.sales import SaleRequest, SaleResult
from loyalty.till import Till
from loyalty.till_records import AppCode
from scanner.codes import PREFIX
from terminal.cli_language import cli_language
from terminal.commands.authority import cashier_id, manager_override
from terminal.commands.common import balance_json, basket, entry_json, open_till
from terminal.config import Config
from terminal.errors import CommandError
from terminal.i18n import translator
from terminal.scanning import ScanRefusedError, scanner_for


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sale", help="record a sale for a member")
    p.add_argument(
        "--member", required=True, help="app code, member id, card number or phone number"
    )
    p.add_argument("--total", help="basket total, e.g. 12.50")
    p.add_argument(
        "--line",
        action="append",
        metavar="SKU,CATEGORY,AMOUNT",
        help="a basket line (repeatable); with --total they must add up",
    )
    p.add_argument("--redeem", metavar="REWARD_ID", help="a reward from the program")
    p.add_argument("--pay-points", type=int, default=0, metavar="N", help="points as payment")
    p.add_argument("--cashier", help="a configured cashier id (default: config or TILL_CASHIER)")
    p.add_argument(
        "--override-manager",
        metavar="ID",
        help="a configured manager overriding the offline policy; their PIN is asked for "
        "(or read from TILL_MANAGER_PIN or one line of stdin)",
    )
    p.add_argument("--override-reason", metavar="TEXT", help="why the manager overrides")
    p.add_argument("--preview", action="store_true", help="show what it would do; write nothing")
    p.add_argument(
        "--print", dest="print_it", action="store_true", help="print the receipt (TILL_PRINTER)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> dict[str, Any]:
    till, cfg = open_till(args)
    try:
        program = till.program
        member, code = member_of(till, cfg, args.member)
        cashier = cashier_id(args, cfg)
        override = manager_override(args, cfg, till)
        req = SaleRequest(
            member_id=member.member_id,
            cashier_id=cashier,
            lines=basket(args.total, args.line, program.minor_units),
            reward_id=args.redeem,
            payment_points=args.pay_points,
            override=override,
            app_code=code,  # spent in the sale's own transaction
        )
        result = sales.preview(till, req) if args.preview else sales.sale(till, req)
        out = sale_json(result, program.minor_units)
        if args.print_it and not args.preview:
            out["print"] = print_now(till, cfg, result)
        return out
    finally:
        till.close()


def member_of(till: Till, cfg: Config, typed: str) -> tuple[Member, AppCode | None]:
    """The member ``--member`` names, and the app code when it was one: checked like a scan
    at the app (signature, expiry, deny-list, and not spent by an earlier sale). Anything
    else is looked up in the member cache as before."""
    if not typed.strip().upper().startswith(PREFIX):
        return till.find_member(typed), None
    try:
        use = scanner_for(till, cfg).app_code(typed, dt.datetime.now(dt.UTC))
    except ScanRefusedError as exc:
        raise CommandError(f"scan.refused.{exc.refused.reason.value}") from exc
    if use is None:
        return till.find_member(typed), None
    return till.member(use.member_id), use.for_sale(use.member_id)


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


def print_now(till: Till, cfg: Config, result: SaleResult) -> dict[str, Any]:
    """Queue the sale's receipt and print it now. The sale stands whatever the printer does:
    a failed print is reported (and stays queued for `till receipt NO --print`)."""
    from printer import JobState, encoder
    from terminal.printing import ReceiptPrinter

    hook = ReceiptPrinter(till, cfg, start=False)
    job = hook.enqueue_sale(result)
    hook.queue.process(hook.printer, encoder(hook.printer.profile))
    job = hook.queue.job(job.job_id)
    out: dict[str, Any] = {"state": job.state.value, "copy": job.copy}
    if job.state is not JobState.PRINTED:
        out["problem"] = job.problem.value if job.problem else None
        t = translator(cli_language())
        print(f"till: {t('cli.warning.not_printed', receipt=result.receipt_no)}", file=sys.stderr)
    return out
