"""The OpenAPI 3.1 document of the till API, assembled from the payloads' own JSON schemas
(msgspec), so the document and the decoders cannot disagree."""

from __future__ import annotations

from typing import Any

import msgspec

from terminal.pos import wire

_TYPES: tuple[Any, ...] = (
    wire.IdentifyRequest, wire.Member, wire.Redeemable, wire.SaleRequest, wire.SaleAnswer,
    wire.PreviewRequest, wire.PreviewAnswer, wire.RefundRequest, wire.RefundAnswer, wire.Problem,
)  # fmt: skip
PROBLEMS = (400, 401, 404, 409, 413, 422)
_POS_ID = r"^[A-Za-z0-9._:/-]{1,64}$"
_MEMBER_ID = r"^[A-Za-z0-9_-]{1,40}$"


def _ref(kind: Any) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{kind.__name__}"}


def _answers(kind: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "200": {"description": "done", "content": {"application/json": {"schema": _ref(kind)}}}
    }
    for status in PROBLEMS:
        out[str(status)] = {
            "description": "refused: a code, its parameters and the message in the asked language",
            "content": {"application/json": {"schema": _ref(wire.Problem)}},
        }
    return out


def _post(summary: str, body: Any, answer: Any) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(body)}},
            },
            "responses": _answers(answer),
        }
    }


def _get(summary: str, name: str, pattern: str, answer: Any) -> dict[str, Any]:
    param = {"name": name, "in": "path", "required": True,
             "schema": {"type": "string", "pattern": pattern}}  # fmt: skip
    return {"get": {"summary": summary, "parameters": [param], "responses": _answers(answer)}}


def _ecma(schema: Any) -> Any:
    """The payloads' Python patterns end in ``\\Z`` (``$`` lets a trailing newline through);
    in JSON Schema's ECMA-262 regexes the same end of text is ``$``."""
    if isinstance(schema, dict):
        return {
            k: v.replace("\\Z", "$") if k == "pattern" and isinstance(v, str) else _ecma(v)
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_ecma(v) for v in schema]
    return schema


def openapi_document() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        _TYPES, ref_template="#/components/schemas/{name}"
    )
    components = _ecma(components)
    paths = {
        "/v1/members/identify": _post(
            "who is this member (card, member id, phone or scanned code)",
            wire.IdentifyRequest, wire.Member,
        ),
        "/v1/members/{member_id}/redeemable": _get(
            "the rewards and points payment this member can use", "member_id", _MEMBER_ID,
            wire.Redeemable,
        ),
        "/v1/sales": _post(
            "record the POS's sale once (idempotent on pos_sale_id)", wire.SaleRequest,
            wire.SaleAnswer,
        ),
        "/v1/sales/preview": _post(
            "what a basket would earn and cost, shown to the shopper; nothing recorded",
            wire.PreviewRequest, wire.PreviewAnswer,
        ),
        "/v1/sales/{pos_sale_id}": _get(
            "the answer a recorded sale got", "pos_sale_id", _POS_ID, wire.SaleAnswer
        ),
        "/v1/refunds": _post(
            "refund a POS sale, whole or some lines (idempotent on pos_refund_id)",
            wire.RefundRequest, wire.RefundAnswer,
        ),
    }  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": "Loyalty till API (for a shop's POS)", "version": "1"},
        "servers": [{"url": "/"}],
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
