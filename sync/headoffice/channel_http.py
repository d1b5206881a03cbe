"""The channel routes of the head-office API: a channel (web shop, app) posts its purchases,
refunds, redemptions and engagement events with its own token and an ``Idempotency-Key``;
an admin revokes a channel and lists the engagement payments. app.py puts them behind the
roles of roles.py like every route."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sync import channel_protocol as cp
from sync import protocol as p
from sync.headoffice import channel_entries, channels, engagement
from sync.headoffice.admission import inflate
from sync.headoffice.rows import ApiProblem

if TYPE_CHECKING:
    from sync.headoffice.service import HeadOffice

Handler = Callable[[Request], Awaitable[Response]]
MAX_POST_BYTES = 256 * 1024  # an order of 500 lines is ~60 KiB
JSON = "application/json"

# kind -> (path, request type, planner)
POSTS: dict[str, tuple[str, type[Any], channels.Planner]] = {
    "purchase": ("/v1/channel/purchases", cp.ChannelPurchase, channel_entries.purchase),
    "refund": ("/v1/channel/refunds", cp.ChannelRefund, channel_entries.refund),
    "redemption": ("/v1/channel/redemptions", cp.ChannelRedemption, channel_entries.redemption),
    "event": ("/v1/channel/events", cp.ChannelEvent, engagement.event),
}


def _key(request: Request) -> str:
    key = request.headers.get(p.IDEMPOTENCY_HEADER)
    if key is None:
        raise ApiProblem(400, "idempotency_key_required")
    if not (1 <= len(key) <= 128 and key.isascii() and key.isprintable()):
        raise ApiProblem(400, "malformed_idempotency_key")
    return key


async def _body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_POST_BYTES:
            raise ApiProblem(413, "body_too_large", limit=MAX_POST_BYTES)
    body = inflate(b"".join(chunks), request.headers.get("content-encoding", "identity"))
    if len(body) > MAX_POST_BYTES:
        raise ApiProblem(413, "body_too_large", limit=MAX_POST_BYTES)
    return body


def _valid(value: str, kind: Any) -> bool:
    try:
        msgspec.convert(value, kind)
    except msgspec.ValidationError:
        return False
    return True


def routes(ho: HeadOffice) -> list[tuple[str, Handler, str]]:
    """(path, handler, method) of each channel route."""

    def poster(kind: str, request_type: type[Any], planner: channels.Planner) -> Handler:
        async def handler(request: Request) -> Response:
            channel_id: str = request.state.principal  # the role was checked by app.guarded
            key = _key(request)
            body = await _body(request)
            answer = await run_in_threadpool(
                channels.post, ho, channel_id, kind, request_type, planner, body, key
            )
            return Response(answer, 201, media_type=JSON)

        return handler

    async def events(request: Request) -> Response:
        query = request.query_params
        try:
            limit = int(query.get("limit", "100"))
        except ValueError:
            raise ApiProblem(422, "malformed_limit") from None
        if not 1 <= limit <= engagement.MAX_LIST:
            raise ApiProblem(422, "malformed_limit")
        member, action = query.get("member") or None, query.get("action") or None
        if member is not None and not _valid(member, p.Identifier):
            raise ApiProblem(422, "malformed_member_id")
        if action is not None and not _valid(action, cp.Action):
            raise ApiProblem(422, "malformed_action")
        answer = await run_in_threadpool(engagement.listed, ho, member, action, limit)
        return Response(p.encode(answer), 200, media_type=JSON)

    async def revoke(request: Request) -> Response:
        channel_id: str = request.path_params["channel_id"]
        await run_in_threadpool(ho.revoke_channel, channel_id)
        return Response(status_code=204)

    out: list[tuple[str, Handler, str]] = [
        (path, poster(kind, kind_type, planner), "POST")
        for kind, (path, kind_type, planner) in POSTS.items()
    ]
    out.append(("/v1/channels/{channel_id}", revoke, "DELETE"))
    out.append(("/v1/events", events, "GET"))
    return out
