"""``till headoffice alerts | suspend | resume``: head office's desk, over its admin token
(``TILL_HEADOFFICE`` and ``TILL_HEADOFFICE_ADMIN_TOKEN``).

- ``alerts [--after ID] [--ack ID ...]``: acknowledge the named alerts, then list the alerts
  after ``ID`` as JSON (velocity, overdraft, till_restored, invalid_entry, chain_broken,
  points_beyond_program), each with when it was acknowledged.
- ``suspend TILL [--reason TEXT]``: refuse the till's pushes (``till_suspended``) until
  ``resume TILL``; its outbox waits, nothing is lost.
- ``held [--all] [--release ID | --reject ID] --reason TEXT [--by NAME]``: decide a held entry
  after review (release credits it once; reject credits nothing; who, when and why are kept),
  then list the entries still awaiting a decision (``--all``: the decided ones too).
"""

from __future__ import annotations

import argparse
import getpass
import os
from typing import Any

import msgspec

from terminal.errors import CommandError


def register_desk(sub: Any) -> None:
    p = sub.add_parser("alerts", help="list head office's alerts; --ack acknowledges")
    p.add_argument("--after", type=int, default=0, metavar="ID", help="alerts after this id")
    p.add_argument("--ack", type=int, action="append", default=[], metavar="ID",
                   help="acknowledge this alert (repeatable)")  # fmt: skip
    p.set_defaults(func=alerts)
    p = sub.add_parser("suspend", help="refuse a till's pushes until it is resumed")
    p.add_argument("terminal_id", metavar="TILL")
    p.add_argument("--reason", default="", help="why (kept at head office)")
    p.set_defaults(func=suspend)
    p = sub.add_parser("resume", help="accept a suspended till's pushes again")
    p.add_argument("terminal_id", metavar="TILL")
    p.set_defaults(func=resume)
    p = sub.add_parser("held", help="list the entries head office holds; release or reject one")
    p.add_argument("--all", action="store_true", help="the decided entries too")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--release", metavar="ID", help="credit this held entry (once)")
    which.add_argument("--reject", metavar="ID", help="credit nothing for this held entry")
    p.add_argument("--reason", default="", help="why (kept at head office; needed to decide)")
    p.add_argument("--by", default="", metavar="NAME", help="who decides (default: your login)")
    p.set_defaults(func=held)


def _desk(args: argparse.Namespace) -> tuple[str, str]:
    from terminal.commands.common import load_config

    url = load_config(args).headoffice
    if not url:
        raise CommandError("sync.error.no_headoffice")
    token = os.environ.get("TILL_HEADOFFICE_ADMIN_TOKEN")
    if not token:
        raise CommandError("headoffice.error.no_admin_token")
    return url, token


def _failure(exc: Any) -> CommandError:
    from terminal.commands.sync import failure

    return failure(exc)


def alerts(args: argparse.Namespace) -> dict[str, Any]:
    from sync import desk
    from sync.client import SyncFailed

    url, token = _desk(args)
    try:
        for alert_id in args.ack:
            desk.acknowledge_alert(url, token, alert_id)
        answer = desk.alerts(url, token, max(0, args.after))
    except SyncFailed as exc:
        raise _failure(exc) from None
    return {"alerts": msgspec.to_builtins(answer.alerts)}


def _suspend(args: argparse.Namespace, suspended: bool) -> dict[str, Any]:
    from sync import desk
    from sync.client import SyncFailed

    url, token = _desk(args)
    try:
        desk.suspend_till(url, token, args.terminal_id, getattr(args, "reason", ""), suspended)
    except SyncFailed as exc:
        raise _failure(exc) from None
    return {"terminal_id": args.terminal_id, "suspended": suspended}


def suspend(args: argparse.Namespace) -> dict[str, Any]:
    return _suspend(args, True)


def resume(args: argparse.Namespace) -> dict[str, Any]:
    return _suspend(args, False)


def held(args: argparse.Namespace) -> dict[str, Any]:
    from sync import desk
    from sync.client import SyncFailed

    entry_id = args.release or args.reject
    reason = args.reason.strip()
    if entry_id and not reason:
        raise CommandError("headoffice.error.held_reason_needed")
    url, token = _desk(args)
    out: dict[str, Any] = {}
    try:
        if entry_id:
            decision = "release" if args.release else "reject"
            by = args.by.strip() or _login()
            decided = desk.decide_held(url, token, entry_id, decision, reason[:200], by[:64])
            out["decided"] = msgspec.to_builtins(decided)
        answer = desk.held(url, token, args.all)
    except SyncFailed as exc:
        raise _failure(exc) from None
    out["held"] = msgspec.to_builtins(answer.held)
    return out


def _login() -> str:
    try:
        return getpass.getuser() or "admin"
    except (KeyError, OSError):  # no login name for this uid (a container)
        return "admin"
