"""``till headoffice events list|post [--db URL]``: engagement events on head office's
database and clock, as JSON.

    till headoffice events list [--member M000001] [--action review_written] [--limit 100]
    till headoffice events post --channel web --member M000001 --action review_written \\
        --event-id R-1001 [--key KEY]

``list`` shows the engagement payments head office holds, newest first (``GET /v1/events``);
``post`` records an event as the named channel would post it (``POST /v1/channel/events``,
for head office's staff and tests): the same rules, caps and exactly-once keys (``--key``,
by default one made of the event id), and the same refusals, each a one-line message."""

from __future__ import annotations

import argparse
from typing import Any

import msgspec

from terminal.errors import CommandError


def register_events(subparsers: Any) -> None:
    parser = subparsers.add_parser("events", help="engagement events: list them, or post one")
    sub = parser.add_subparsers(dest="events_command", required=True, metavar="COMMAND")
    listing = sub.add_parser("list", help="the engagement payments head office holds")
    listing.add_argument("--member", help="only this member's")
    listing.add_argument("--action", help="only this action's")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (1-1000)")
    listing.add_argument("--db", default=None, help="SQLite path or postgresql:// URL")
    listing.set_defaults(func=list_events)
    post = sub.add_parser("post", help="an event, as a channel posts it")
    post.add_argument("--channel", required=True, help="the channel it comes from (registered)")
    post.add_argument("--member", required=True, help="the member's id")
    post.add_argument("--action", required=True, help="an action of the program's rules")
    post.add_argument("--event-id", required=True, help="the channel's own id of the event")
    post.add_argument("--key", help="the idempotency key (default: made of the event id)")
    post.add_argument("--db", default=None, help="SQLite path or postgresql:// URL")
    post.set_defaults(func=post_event)


def list_events(args: argparse.Namespace) -> dict[str, Any]:
    from sync.headoffice import engagement
    from terminal.commands.headoffice_jobs import _open

    if not 1 <= args.limit <= engagement.MAX_LIST:
        raise CommandError("sync.error.malformed_limit")
    ho, db = _open(args)
    try:
        answer = engagement.listed(ho, args.member, args.action, args.limit)
    finally:
        ho.store.close()
    return {"events": msgspec.to_builtins(answer.events), "db": db}


def post_event(args: argparse.Namespace) -> dict[str, Any]:
    from sync import channel_protocol as cp
    from sync.headoffice import channels, engagement
    from sync.headoffice.rows import ApiProblem
    from terminal.commands.headoffice_jobs import _open

    body = msgspec.json.encode(
        {"member_id": args.member, "event_id": args.event_id, "action": args.action}
    )
    ho, db = _open(args)
    try:
        answer = channels.post(
            ho, args.channel, "event", cp.ChannelEvent, engagement.event, body,
            args.key or f"cli:{args.event_id}",
        )  # fmt: skip
    except ApiProblem as exc:
        raise CommandError(f"sync.error.{exc.code}", **exc.params) from None
    finally:
        ho.store.close()
    out: dict[str, Any] = msgspec.json.decode(answer)
    out["db"] = db
    return out
