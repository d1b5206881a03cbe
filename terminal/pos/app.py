"""The till API as an ASGI app (Starlette): bearer-token protected, JSON in and out, every
refusal a ``Problem`` with a stable code, its parameters and the message in the language the
POS asks for (``Accept-Language``, else the till's)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from loyalty.errors import BadInput, LoyaltyError, NotFound, Refused
from terminal.errors import CommandError
from terminal.i18n import LANGUAGES, Translator, translator
from terminal.messages import describe
from terminal.pos import wire
from terminal.pos.openapi import openapi_document
from terminal.pos.service import PosService
from terminal.pos.token import TokenFile
from terminal.scanning import ScanRefusedError

MAX_BODY = 256 * 1024
_STATUS = {BadInput: 422, NotFound: 404, Refused: 409}


def _language(request: Request, default: str) -> str:
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().replace("_", "-").split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return default


def _json(value: msgspec.Struct, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status, media_type="application/json")


def _problem(status: int, code: str, message: str, params: dict[str, Any]) -> Response:
    shown = {k: str(v) for k, v in params.items()}
    return _json(wire.Problem(code, message, shown), status)


def _refusal(t: Translator, exc: Exception) -> Response:
    if isinstance(exc, LoyaltyError):
        status = next((s for kind, s in _STATUS.items() if isinstance(exc, kind)), 422)
        return _problem(status, exc.code, describe(t, exc), exc.params)
    if isinstance(exc, ScanRefusedError):
        reason = exc.refused.reason.value
        return _problem(422, f"scan_{reason}", t(f"scan.refused.{reason}"), {})
    if isinstance(exc, CommandError):
        return _problem(422, exc.key.rsplit(".", 1)[-1], t(exc.key, **exc.params), exc.params)
    if isinstance(exc, msgspec.ValidationError):
        return _problem(422, "pos_invalid_request", t("pos.invalid_request", detail=str(exc)),
                        {"detail": str(exc)})  # fmt: skip
    return _problem(400, "pos_bad_json", t("pos.bad_json"), {})


def create_app(
    service: PosService, tokens: TokenFile, allow_origins: tuple[str, ...] = ()
) -> Starlette:
    """``allow_origins``: the web origins whose pages may call the API from a browser (a POS
    that runs in one, such as Odoo's: CORS, Starlette's middleware); none by default."""
    default_language = service.config.language
    # One till, one writer: requests that write take turns here (the database serialises
    # them too; this keeps a burst of retries from queueing on SQLite's busy timeout).
    writing = threading.Lock()

    def guarded(handler: Callable[[Request, Translator, bytes], Any]) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            t = translator(_language(request, default_language))
            if not tokens.allows(request.headers.get("authorization")):
                return _problem(401, "pos_unauthorised", t("pos.unauthorised"), {})
            body = b""
            if request.method == "POST":
                # Read at most MAX_BODY, whatever Content-Length says (or does not say).
                received = bytearray()
                async for chunk in request.stream():
                    received += chunk
                    if len(received) > MAX_BODY:
                        limit = {"limit": str(MAX_BODY)}
                        return _problem(413, "pos_too_large", t("pos.too_large", **limit), limit)
                body = bytes(received)
            try:
                result = await run_in_threadpool(handler, request, t, body)
            except (LoyaltyError, ScanRefusedError, CommandError, msgspec.DecodeError) as exc:
                return _refusal(t, exc)
            return _json(result)

        return endpoint

    def identify(request: Request, t: Translator, body: bytes) -> wire.Member:
        address = request.client.host if request.client else None
        return service.identify(msgspec.json.decode(body, type=wire.IdentifyRequest), None, address)

    def redeemable(request: Request, t: Translator, body: bytes) -> wire.Redeemable:
        return service.redeemable(request.path_params["member_id"])

    def sale(request: Request, t: Translator, body: bytes) -> wire.SaleAnswer:
        req = msgspec.json.decode(body, type=wire.SaleRequest)
        with writing:
            return service.sale(req)

    def preview(request: Request, t: Translator, body: bytes) -> wire.PreviewAnswer:
        return service.preview(msgspec.json.decode(body, type=wire.PreviewRequest))

    def sale_answer(request: Request, t: Translator, body: bytes) -> wire.SaleAnswer:
        return service.recorded_sale(request.path_params["pos_sale_id"])

    def refund(request: Request, t: Translator, body: bytes) -> wire.RefundAnswer:
        req = msgspec.json.decode(body, type=wire.RefundRequest)
        with writing:
            return service.refund(req)

    async def document(request: Request) -> Response:
        return JSONResponse(openapi_document())

    return Starlette(
        routes=[
            Route("/openapi.json", document, methods=["GET"]),
            Route("/v1/members/identify", guarded(identify), methods=["POST"]),
            Route("/v1/members/{member_id}/redeemable", guarded(redeemable), methods=["GET"]),
            Route("/v1/sales", guarded(sale), methods=["POST"]),
            Route("/v1/sales/preview", guarded(preview), methods=["POST"]),
            Route("/v1/sales/{pos_sale_id:path}", guarded(sale_answer), methods=["GET"]),
            Route("/v1/refunds", guarded(refund), methods=["POST"]),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=list(allow_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Accept-Language"],
                max_age=600,
            )  # fmt: skip
        ]
        if allow_origins
        else [],
    )
