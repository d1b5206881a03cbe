"""The channel routes' part of the OpenAPI document (openapi.py adds it and each operation's
roles): a channel's posts, each with its ``Idempotency-Key``, and an admin's revocation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sync import channel_protocol as cp
from sync import protocol as p

TYPES: tuple[Any, ...] = (
    cp.ChannelPurchase, cp.ChannelRefund, cp.ChannelRedemption, cp.ChannelEvent, cp.ChannelAnswer,
    cp.EventsAnswer, cp.EventRecord,
)  # fmt: skip

_KEY = {
    "name": p.IDEMPOTENCY_HEADER,
    "in": "header",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[ -~]+$"},
}
_WHAT = {
    "purchases": (
        "channelPurchase", cp.ChannelPurchase,
        "An order paid on the channel earns by the program's rules, as a till's sale would. "
        "The same order id under another key is refused (409 duplicate_order).",
    ),
    "refunds": (
        "channelRefund", cp.ChannelRefund,
        "Money given back on one of the channel's orders reverses the order's points in "
        "proportion; more than the order's total is refused (422 refund_exceeds_order).",
    ),
    "redemptions": (
        "channelRedemption", cp.ChannelRedemption,
        "Points spent on the channel; an overdraft is refused (409 insufficient_points).",
    ),
    "events": (
        "channelEvent", cp.ChannelEvent,
        "An engagement action (review written, social follow, ...) earns its program rule's "
        "points; a capped one (409 engagement_capped), an account younger than the rule's "
        "minimum (409 account_too_young) or an action the program has no rule for (422 "
        "unknown_action) is refused and stores nothing.",
    ),
}  # fmt: skip


def paths(
    body: Callable[[Any], dict[str, Any]], answers: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    """The channel routes' paths, built with openapi.py's own ``_body`` and ``_answers``."""
    out: dict[str, Any] = {}
    for name, (operation, kind, text) in _WHAT.items():
        out[f"/v1/channel/{name}"] = {
            "post": {
                "operationId": operation,
                "description": f"{text} Exactly once: a retry with the same Idempotency-Key "
                "and body answers as the first did and stores nothing; the same key with "
                "another body is refused (409 idempotency_key_reused).",
                "parameters": [_KEY],
                "requestBody": body(kind),
                "responses": answers(201, cp.ChannelAnswer, 404, 409, 413, 415),
            }
        }
    out["/v1/channels/{channel_id}"] = {
        "delete": {
            "operationId": "revokeChannel",
            "description": "Revoke a channel's token; what it posted stays in the ledger.",
            "parameters": [
                {
                    "name": "channel_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"},
                }
            ],
            "responses": answers(204, None, 404),
        }
    }
    out["/v1/events"] = {
        "get": {
            "operationId": "engagementEvents",
            "description": "The engagement payments head office holds, newest first: each one "
            "slot of its rule's cap, from a channel or a till.",
            "parameters": [
                _query("member", {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"}),
                _query("action", {"type": "string", "pattern": "^[a-z0-9_]{1,32}$"}),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
            ],
            "responses": answers(200, cp.EventsAnswer),  # 422: a malformed query
        }
    }
    return out


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}
