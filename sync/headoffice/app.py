"""The head-office loyalty API as an ASGI app (Starlette), with its OpenAPI document at
``/openapi.json``. Storage calls are blocking and run in Starlette's thread pool.

Auth: ``Authorization: Bearer <token>``. A till's token names its till; head office refuses
unknown or revoked tokens, and a push under another till's id. The admin token is head office's
own (registering tills, members, programs, keys, the deny-list, app codes).
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import msgspec
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from sync import protocol as p
from sync import protocol_offers as po
from sync.headoffice import channel_http, offers
from sync.headoffice.admission import inflate
from sync.headoffice.dashboard import WordsFor
from sync.headoffice.dashboard.routes import Dashboard
from sync.headoffice.openapi import openapi_document
from sync.headoffice.reports.http import kpis_answer
from sync.headoffice.roles import ADMIN_ONLY, ROUTE_ROLES, refusal
from sync.headoffice.rows import ApiProblem
from sync.headoffice.service import HeadOffice, MintCode, decode_request
from sync.headoffice.store import is_contention, open_store

log = logging.getLogger("sync.headoffice")
JSON = "application/json"
Handler = Callable[[Request], Awaitable[Response]]


def _json(value: Any, status: int = 200) -> Response:
    return Response(p.encode(value), status, media_type=JSON)


def _problem(exc: ApiProblem) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return Response(exc.body(), exc.status, headers=headers, media_type=JSON)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(401, "unauthorised")
    return token.strip()


async def _read(request: Request) -> bytes:
    """The body as sent (gzip or not), within the size limit."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)  # joined once: appending to bytes copies the body per chunk
        size += len(chunk)
        if size > p.MAX_BODY_BYTES:
            raise ApiProblem(413, "body_too_large", limit=p.MAX_BODY_BYTES)
    return b"".join(chunks)


async def _body(request: Request) -> bytes:
    return inflate(await _read(request), request.headers.get("content-encoding", "identity"))


def create_app(
    store_url: str | None = None,
    *,
    headoffice: HeadOffice | None = None,
    admin_token: str | None = None,
    mint_code: MintCode | None = None,
    words: WordsFor | None = None,
    fonts: Path | None = None,
) -> Starlette:
    """The app over ``headoffice`` (or a new one over ``store_url``: a SQLite path or
    ``postgresql://`` URL). ``mint_code(member_id) -> code`` issues member app codes; the
    reference server has none unless the one who builds the app injects it."""
    if headoffice is None:
        if store_url is None:
            raise ValueError("create_app needs a store URL or a HeadOffice")
        headoffice = HeadOffice(open_store(store_url), admin_token=admin_token, mint_code=mint_code)
    ho = headoffice

    def guarded(fn: Handler, path: str) -> Handler:
        """``fn`` behind the roles its route serves (roles.ROUTE_ROLES, by method and path):
        the caller's role is settled before the handler runs, and its identity (a till's or
        a channel's id) is ``request.state.principal``."""

        async def endpoint(request: Request) -> Response:
            try:
                method = "GET" if request.method == "HEAD" else request.method
                allowed = ROUTE_ROLES[(method, path)]
                if allowed:
                    try:
                        role, who = await run_in_threadpool(ho.principal, _bearer(request))
                    except ApiProblem as exc:
                        if exc.status != 401 or allowed != ADMIN_ONLY:
                            raise
                        raise ApiProblem(403, "admin_only") from None  # as it always said
                    if role not in allowed:
                        status, code = refusal(role, allowed)
                        raise ApiProblem(status, code, role=role)
                    request.state.principal = who
                return await fn(request)
            except ApiProblem as exc:
                return _problem(exc)
            except ClientDisconnect:  # gone (or cut off as too slow): nobody to answer
                return Response(status_code=400)
            except Exception as exc:
                if is_contention(exc):
                    log.warning("database busy: %s", type(exc).__name__)
                    return _problem(ApiProblem(503, "busy", retry_after=1))
                if _constraint_error(exc):
                    return _problem(ApiProblem(409, "conflict"))
                raise

        return endpoint

    async def till(request: Request) -> str:
        """The calling till (its role was checked by ``guarded``)."""
        terminal_id: str = request.state.principal
        return terminal_id

    async def admin(request: Request) -> None:
        """Checked by ``guarded``: the route serves admins only."""

    async def push(request: Request) -> Response:
        terminal_id = await till(request)
        raw = await _read(request)  # inflated once admitted (admission.py)
        encoding = request.headers.get("content-encoding", "identity")
        key = request.headers.get(p.IDEMPOTENCY_HEADER)
        if key is not None and not (1 <= len(key) <= 128 and key.isascii()):
            raise ApiProblem(400, "malformed_idempotency_key")
        data = await run_in_threadpool(ho.push_sent, terminal_id, raw, encoding, key)
        if "gzip" in request.headers.get("accept-encoding", "").lower():
            # Compressed when it was made (and kept so for replays): GZipMiddleware passes a
            # response that names its encoding through as it is.
            headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
            return Response(data, 200, headers=headers, media_type=JSON)
        return Response(gzip.decompress(data), 200, media_type=JSON)

    async def epoch(request: Request) -> Response:
        terminal_id = await till(request)
        body = await _body(request)
        return _json(await run_in_threadpool(ho.new_epoch, terminal_id, body))

    async def changes(request: Request) -> Response:
        terminal_id = await till(request)
        cursor = request.query_params.get("cursor") or None
        try:
            limit = int(request.query_params.get("limit", "2000"))
        except ValueError:
            raise ApiProblem(422, "malformed_limit") from None
        if cursor is not None and len(cursor) > 512:
            raise ApiProblem(400, "malformed_cursor")
        return _json(await run_in_threadpool(ho.changes, cursor, limit, terminal_id))

    async def hold(request: Request) -> Response:
        terminal_id = await till(request)
        req = decode_request(p.HoldRequest, await _body(request))
        return _json(await run_in_threadpool(ho.authorise, terminal_id, req), 201)

    async def capture(request: Request) -> Response:
        terminal_id = await till(request)
        req = decode_request(p.CaptureRequest, await _body(request))
        hold_id = request.path_params["hold_id"]
        return _json(await run_in_threadpool(ho.capture, terminal_id, hold_id, req.receipt_no))

    async def release(request: Request) -> Response:
        terminal_id = await till(request)
        hold_id = request.path_params["hold_id"]
        return _json(await run_in_threadpool(ho.release, terminal_id, hold_id))

    async def member(request: Request) -> Response:
        return _json(await run_in_threadpool(ho.member, _member_id(request)))

    async def put_member(request: Request) -> Response:
        await admin(request)
        req = decode_request(p.MemberRequest, await _body(request))
        return _json(await run_in_threadpool(ho.upsert_member, _member_id(request), req))

    async def erase_member(request: Request) -> Response:
        await admin(request)
        await run_in_threadpool(ho.erase_member, _member_id(request))
        return Response(status_code=204)

    async def app_code(request: Request) -> Response:
        await admin(request)
        member_id = _member_id(request)
        code = await run_in_threadpool(ho.app_code, member_id)
        return _json(p.AppCode(member_id, code), 201)

    async def register(request: Request) -> Response:
        await admin(request)
        req = decode_request(p.TillRequest, await _body(request))
        token = await run_in_threadpool(ho.register_till, req.terminal_id, req.replace)
        return _json(p.TillToken(req.terminal_id, token), 201)

    async def revoke(request: Request) -> Response:
        await admin(request)
        await run_in_threadpool(ho.revoke_till, request.path_params["terminal_id"])
        return Response(status_code=204)

    async def program(request: Request) -> Response:
        await admin(request)
        req = decode_request(p.ProgramRequest, await _body(request))
        return _json(p.ProgramVersion(await run_in_threadpool(ho.publish_program, req.document)))

    async def add_key(request: Request) -> Response:
        await admin(request)
        req = decode_request(p.KeyRequest, await _body(request))
        await run_in_threadpool(ho.add_key, req.key_id, req.public_key)
        return Response(status_code=204)

    async def revoke_key(request: Request) -> Response:
        await admin(request)
        key_id = _path_param(request, "key_id", _KeyId, "malformed_key_id")
        await run_in_threadpool(ho.revoke_key, key_id)
        return Response(status_code=204)

    async def deny(request: Request) -> Response:
        await admin(request)
        req = decode_request(p.DenyRequest, await _body(request))
        await run_in_threadpool(ho.deny, req.code, req.reason, True)
        return Response(status_code=204)

    async def undeny(request: Request) -> Response:
        await admin(request)
        code = _path_param(request, "code", _DenyCode, "malformed_code")
        await run_in_threadpool(ho.deny, code, "", False)
        return Response(status_code=204)

    async def alerts(request: Request) -> Response:
        await admin(request)
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            raise ApiProblem(422, "malformed_after") from None
        if not 0 <= after <= MAX_ID:  # a database integer: 10**40 would overflow the driver
            raise ApiProblem(422, "malformed_after")
        return _json(await run_in_threadpool(ho.alerts, after))

    async def referrals(request: Request) -> Response:
        await admin(request)
        status = request.query_params.get("status") or None
        if status not in (None, "pending", "credited", "refused"):
            raise ApiProblem(422, "malformed_referral_status", value=str(status)[:20])
        return _json(await run_in_threadpool(ho.referrals, status))

    async def channel(request: Request) -> Response:
        req = decode_request(p.ChannelRequest, await _body(request))
        token = await run_in_threadpool(ho.register_channel, req.channel_id, req.replace)
        return _json(p.ChannelToken(req.channel_id, token), 201)

    async def ack_alert(request: Request) -> Response:
        await admin(request)
        try:
            alert_id = int(request.path_params["alert_id"])
        except ValueError:
            raise ApiProblem(422, "malformed_alert_id") from None
        if not 1 <= alert_id <= MAX_ID:
            raise ApiProblem(422, "malformed_alert_id")
        stamp = p.now_text(ho.clock())
        await run_in_threadpool(ho.acknowledge_alert, alert_id, stamp)
        return Response(status_code=204)

    async def held(request: Request) -> Response:
        await admin(request)
        decided = request.query_params.get("decided", "0")
        if decided not in ("0", "1"):
            raise ApiProblem(422, "malformed_decided")
        return _json(await run_in_threadpool(ho.held, decided == "1"))

    async def decide_held(request: Request) -> Response:
        await admin(request)
        entry_id = _path_param(request, "entry_id", p.Uuidish, "malformed_entry_id")
        req = decode_request(p.HeldDecisionRequest, await _body(request))
        return _json(await run_in_threadpool(ho.decide_held, entry_id, req, ho.clock()))

    async def kpis(request: Request) -> Response:
        await admin(request)
        return await kpis_answer(ho, request)

    async def create_offer(request: Request) -> Response:
        req = decode_request(po.OfferRequest, await _body(request))
        answer = await run_in_threadpool(offers.create, ho, req)
        return _json(answer, 200 if req.dry_run else 201)

    async def list_offers(request: Request) -> Response:
        return _json(await run_in_threadpool(offers.listed, ho))

    async def suspend(request: Request) -> Response:
        await admin(request)
        terminal_id = _path_param(request, "terminal_id", p.Identifier, "malformed_terminal_id")
        if request.method == "DELETE":
            await run_in_threadpool(ho.suspend_till, terminal_id, "", False)
        else:
            req = decode_request(p.SuspendRequest, await _body(request))
            await run_in_threadpool(ho.suspend_till, terminal_id, req.reason, True)
        return Response(status_code=204)

    document = p.encode(openapi_document())
    dashboard = Dashboard(ho, words, fonts)

    async def openapi(request: Request) -> Response:
        return Response(document, media_type=JSON)

    async def health(request: Request) -> Response:
        return _json({"status": "ok", "server_time": p.now_text(ho.clock())})

    def route(path: str, fn: Handler, *methods: str) -> Route:
        return Route(path, guarded(fn, path), methods=list(methods))

    routes = [
        route("/openapi.json", openapi, "GET"),
        route("/v1/health", health, "GET"),
        route("/v1/push", push, "POST"),
        route("/v1/epochs", epoch, "POST"),
        route("/v1/changes", changes, "GET"),
        route("/v1/holds", hold, "POST"),
        route("/v1/holds/{hold_id}/capture", capture, "POST"),
        route("/v1/holds/{hold_id}/release", release, "POST"),
        route("/v1/members/{member_id}", member, "GET"),
        route("/v1/members/{member_id}", put_member, "PUT"),
        route("/v1/members/{member_id}", erase_member, "DELETE"),
        route("/v1/members/{member_id}/app-code", app_code, "POST"),
        route("/v1/tills", register, "POST"),
        route("/v1/tills/{terminal_id}", revoke, "DELETE"),
        route("/v1/tills/{terminal_id}/suspension", suspend, "POST", "DELETE"),
        route("/v1/channels", channel, "POST"),
        route("/v1/programs", program, "POST"),
        route("/v1/keys", add_key, "POST"),
        route("/v1/keys/{key_id}", revoke_key, "DELETE"),
        route("/v1/deny-list", deny, "POST"),
        route("/v1/deny-list/{code}", undeny, "DELETE"),
        route("/v1/alerts", alerts, "GET"),
        route("/v1/referrals", referrals, "GET"),
        route("/v1/alerts/{alert_id}/ack", ack_alert, "POST"),
        route("/v1/held", held, "GET"),
        route("/v1/held/{entry_id}/decision", decide_held, "POST"),
        route("/v1/reports/kpis", kpis, "GET"),
        route("/v1/offers", list_offers, "GET"),
        route("/v1/offers", create_offer, "POST"),
        route("/dashboard", dashboard.show, "GET"),
        route("/dashboard/sign-in", dashboard.sign_in, "POST"),
        route("/dashboard/sign-out", dashboard.sign_out, "POST"),
        route("/dashboard/kpis.csv", dashboard.csv, "GET"),
        route("/dashboard/fonts/{name}", dashboard.font, "GET"),
        *(route(path, fn, method) for path, fn, method in channel_http.routes(ho)),
    ]
    app = Starlette(
        routes=routes, middleware=[Middleware(GZipMiddleware, minimum_size=2048, compresslevel=4)]
    )
    app.state.headoffice = ho
    return app


# The same patterns as protocol.DenyRequest.code and protocol.KeyRequest.key_id: a path
# parameter is held to what the body of the request that made it was.
_DenyCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,128}\Z")]
_KeyId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}\Z")]
MAX_ID = 2**63 - 1  # the largest id or cursor a database column holds


def _path_param(request: Request, name: str, kind: Any, problem: str) -> str:
    value: str = request.path_params[name]
    try:
        msgspec.convert(value, kind)
    except msgspec.ValidationError:
        raise ApiProblem(422, problem) from None
    return value


def _member_id(request: Request) -> str:
    member_id: str = request.path_params["member_id"]
    try:
        msgspec.convert(member_id, p.Identifier)
    except msgspec.ValidationError:
        raise ApiProblem(422, "malformed_member_id") from None
    return member_id


def _constraint_error(exc: Exception) -> bool:
    return type(exc).__name__ in ("IntegrityError", "UniqueViolation")
