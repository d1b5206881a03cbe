"""till enroll: a new member, with their consent recorded."""

from __future__ import annotations

import argparse
from typing import Any

from loyalty.referrals import shown as referral_shown
from terminal.commands.authority import cashier_id
from terminal.commands.common import balance_json, open_till


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("enroll", help="enrol a new member")
    p.add_argument("--name", required=True, help="the name on the receipt")
    p.add_argument(
        "--phone",
        help="for look-up; kept only as a keyed hash (checked with head office when online)",
    )
    p.add_argument("--language", default="en", help="receipt language: en el pl ro th fa")
    p.add_argument("--birthday", help="MM-DD, for the birthday bonus")
    p.add_argument("--consent", action="store_true", help="the shopper agreed to the terms")
    p.add_argument(
        "--referral-code", help="a friend's referral code (K7QM-4XR5): both earn after a purchase"
    )
    p.add_argument("--cashier", help="a configured cashier id (default: config or TILL_CASHIER)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from terminal.syncing import refresh_members  # httpx only for the command that needs it

    till, cfg = open_till(args)
    try:
        cashier = cashier_id(args, cfg)
        online = refresh_members(till, cfg) if args.phone else False
        enrolment = till.enroll(
            args.name,
            cashier,
            args.consent,
            language=args.language,
            phone=args.phone,
            birthday=args.birthday,
            referred_by=args.referral_code,
        )
        balance = till.balance(enrolment.member.member_id)
    finally:
        till.close()
    return {
        "member_id": enrolment.member.member_id,
        "card_number": enrolment.card_number,
        "display_name": enrolment.member.display_name,
        "language": enrolment.member.language,
        "referral_code": referral_shown(enrolment.member.referral_code or ""),
        "referred_by": referral_shown(enrolment.referred_by or ""),
        "checked_with_headoffice": online,
        "balance": balance_json(balance),
    }
