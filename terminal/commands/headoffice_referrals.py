"""``till headoffice referrals [--status pending|credited|refused]``: the latest referrals and
what became of each, over head office's admin token, with each one's reason in the language of
the command line (``TILL_LANGUAGE``): a refused referral says why (sync/headoffice/referrals.py)."""

from __future__ import annotations

import argparse
from typing import Any

import msgspec

from loyalty.referrals import shown


def register_referrals(sub: Any) -> None:
    p = sub.add_parser("referrals", help="list referrals: pending, credited, refused and why")
    p.add_argument("--status", choices=("pending", "credited", "refused"), help="only these")
    p.set_defaults(func=referrals)


def referrals(args: argparse.Namespace) -> dict[str, Any]:
    from sync import desk
    from sync.client import SyncFailed
    from terminal.cli_language import cli_language
    from terminal.commands.headoffice_desk import _desk, _failure
    from terminal.i18n import translator

    url, token = _desk(args)
    try:
        answer = desk.referrals(url, token, args.status)
    except SyncFailed as exc:
        raise _failure(exc) from None
    t = translator(cli_language())
    out = []
    for row in answer.referrals:
        item = msgspec.to_builtins(row)
        item["code"] = shown(row.code)
        key = f"referral.refused.{row.reason}" if row.reason else f"referral.status.{row.status}"
        item["message"] = t(key)
        out.append(item)
    return {"referrals": out}
