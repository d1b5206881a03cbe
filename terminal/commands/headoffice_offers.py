"""``till headoffice offers create|list [--db URL]``: personal offers for segments of members
(sync/headoffice/offers.py), on head office's database and clock, as JSON.

    till headoffice offers create --id bday-may --name "Birthday treat" --name el="..." \\
        --kind bonus --bonus 300 | --kind multiplier --multiplier 300 --category fresh |
        --kind reward --reward coffee --cost 0 \\
        --starts 2026-05-01 --ends 2026-05-31 --uses 1 \\
        --birthday-month 5 [--tier oak ...] [--bought fresh --bought-days 30] \\
        [--lapsed-days 90] [--member M000001 ...] [--dry-run] [--everybody]

``--dry-run`` says how many active members the segment reaches (and warns when that is none or
all of them) and creates nothing; a segment that reaches nobody is refused, one that reaches
everybody needs ``--everybody``. The same as ``POST /v1/offers`` with the admin token."""

from __future__ import annotations

import argparse
from typing import Any

import msgspec

from terminal.errors import CommandError


def register_offers(subparsers: Any) -> None:
    parser = subparsers.add_parser("offers", help="personal offers for segments of members")
    sub = parser.add_subparsers(dest="offers_command", required=True, metavar="COMMAND")
    create = sub.add_parser("create", help="an offer for a segment (or --dry-run: who it reaches)")
    create.add_argument("--id", dest="offer_id", required=True, help="the offer's id")
    create.add_argument(
        "--name", action="append", required=True, metavar="[LANG=]TEXT",
        help="its name (English first; el=..., pl=... for the other languages)",
    )  # fmt: skip
    create.add_argument("--kind", required=True, choices=("multiplier", "bonus", "reward"))
    create.add_argument("--multiplier", type=int, default=100, metavar="PERCENT",
                        help="multiplier: 300 = three times the base points")  # fmt: skip
    create.add_argument("--bonus", type=int, default=0, metavar="POINTS", help="bonus points")
    create.add_argument("--reward", default="", metavar="ID",
                        help="reward: the program's reward it offers")  # fmt: skip
    create.add_argument("--cost", type=int, default=0, metavar="POINTS",
                        help="reward: at this cost in points (default 0: free)")  # fmt: skip
    create.add_argument("--category", action="append", default=[], help="on these categories")
    create.add_argument("--min-spend", type=int, default=0, metavar="MINOR",
                        help="least spend in its categories, in minor units")  # fmt: skip
    create.add_argument("--starts", required=True, metavar="DAY", help="first shop day")
    create.add_argument("--ends", required=True, metavar="DAY", help="last shop day")
    create.add_argument("--uses", type=int, default=1, help="uses per member (default 1)")
    create.add_argument("--not-stackable", action="store_true",
                        help="competes with non-stackable promotions")  # fmt: skip
    create.add_argument("--tier", action="append", default=[], help="segment: in this tier")
    create.add_argument("--bought", metavar="CATEGORY", help="segment: bought this category")
    create.add_argument("--bought-days", type=int, default=30, metavar="N",
                        help="... in the last N days (default 30)")  # fmt: skip
    create.add_argument("--birthday-month", type=int, metavar="M", help="segment: born in month M")
    create.add_argument("--lapsed-days", type=int, metavar="N",
                        help="segment: no purchase in the last N days")  # fmt: skip
    create.add_argument("--member", action="append", default=[], help="segment: this member")
    create.add_argument("--dry-run", action="store_true", help="only count who it reaches")
    create.add_argument("--everybody", action="store_true",
                        help="yes, it is for every active member")  # fmt: skip
    create.add_argument("--db", default=None, help="SQLite path or postgresql:// URL")
    create.set_defaults(func=create_offer)
    listing = sub.add_parser("list", help="the offers, whom they reach and their uses so far")
    listing.add_argument("--db", default=None, help="SQLite path or postgresql:// URL")
    listing.set_defaults(func=list_offers)


def _names(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, value in enumerate(values):
        lang, sep, text = value.partition("=")
        if sep and 2 <= len(lang) <= 3 and lang.isalpha() and lang.islower():
            out[lang] = text
        elif i == 0:
            out["en"] = value
        else:
            raise CommandError("sync.error.malformed_offer", field="name")
    return out


def request(args: argparse.Namespace) -> Any:
    from sync import protocol_offers as po

    raw = {
        "offer_id": args.offer_id, "name": _names(args.name), "kind": args.kind,
        "starts": args.starts, "ends": args.ends, "multiplier_percent": args.multiplier,
        "bonus_points": args.bonus, "categories": args.category,
        "min_spend_minor": args.min_spend, "uses": args.uses,
        "stackable": not args.not_stackable, "dry_run": args.dry_run,
        "reward_id": args.reward, "cost_points": args.cost,
        "everybody": args.everybody,
        "segment": {
            k: v
            for k, v in {
                "tiers": args.tier, "bought_category": args.bought,
                "bought_days": args.bought_days, "birthday_month": args.birthday_month,
                "lapsed_days": args.lapsed_days, "members": args.member,
            }.items()
            if v not in (None, [])
        },
    }  # fmt: skip
    try:
        return msgspec.convert(raw, po.OfferRequest)
    except msgspec.ValidationError as exc:
        path = str(exc).rpartition("at `$.")[2].rstrip("`") or "offer"
        raise CommandError("sync.error.malformed_offer", field=path) from None


def create_offer(args: argparse.Namespace) -> dict[str, Any]:
    from sync.headoffice import offers
    from sync.headoffice.rows import ApiProblem
    from terminal.commands.headoffice_jobs import _open

    req = request(args)
    ho, db = _open(args)
    try:
        answer = offers.create(ho, req)
    except ApiProblem as exc:
        raise CommandError(f"sync.error.{exc.code}", **exc.params) from None
    finally:
        ho.store.close()
    out: dict[str, Any] = msgspec.to_builtins(answer)
    out["db"] = db
    return out


def list_offers(args: argparse.Namespace) -> dict[str, Any]:
    from sync.headoffice import offers
    from terminal.commands.headoffice_jobs import _open

    ho, db = _open(args)
    try:
        answer = offers.listed(ho)
    finally:
        ho.store.close()
    return {"offers": msgspec.to_builtins(answer.offers), "db": db}
