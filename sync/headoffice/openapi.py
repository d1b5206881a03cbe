"""The OpenAPI 3.1 document of the head-office API, assembled from the payloads' own JSON
schemas (msgspec), so the document and the decoders cannot disagree."""

from __future__ import annotations

from typing import Any

import msgspec

from sync import protocol as p
from sync import protocol_offers as po
from sync import protocol_referrals as pr
from sync.headoffice import channel_openapi
from sync.headoffice.roles import ROUTE_ROLES

_TYPES: tuple[Any, ...] = (
    p.PushRequest, p.PushAnswer, p.ChangesAnswer, p.HoldRequest, p.CaptureRequest, p.Hold,
    p.TillRequest, p.TillToken, p.MemberRequest, p.MemberState, p.ProgramRequest,
    p.ProgramVersion, p.KeyRequest, p.DenyRequest, p.AppCode, p.AlertsAnswer, p.Problem,
    pr.ReferralsAnswer,
    p.EpochRequest, p.EpochAnswer, p.SuspendRequest, p.ChannelRequest, p.ChannelToken,
    p.HeldAnswer, p.HeldEntry, p.HeldDecisionRequest, *channel_openapi.TYPES,
    po.OfferRequest, po.OfferAnswer, po.OffersAnswer,
)  # fmt: skip


def _ref(kind: Any) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{kind.__name__}"}


def _body(kind: Any) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(kind)}}}


def _answers(ok: int, kind: Any | None, *problems: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if kind is None:
        out[str(ok)] = {"description": "done"}
    else:
        out[str(ok)] = {
            "description": "done",
            "content": {"application/json": {"schema": _ref(kind)}},
        }
    for status in (400, 401, 403, 422, *problems):
        out[str(status)] = {
            "description": "a problem: a code and its parameters",
            "content": {"application/json": {"schema": _ref(p.Problem)}},
        }
    return out


def _path_param(name: str, pattern: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": pattern},
    }


_ID = r"^[A-Za-z0-9_-]{1,32}$"


def _query_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _report_answers() -> dict[str, Any]:
    out = _answers(200, None)
    out["200"] = {
        "description": "the report (docs/kpis.md)",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
    return out


def _ecma_patterns(schema: Any) -> Any:
    """The protocol's Python patterns end in ``\\Z`` (see sync.protocol); in JSON Schema's
    ECMA-262 regexes the same end of text is ``$``."""
    if isinstance(schema, dict):
        return {
            k: v.replace("\\Z", "$") if k == "pattern" and isinstance(v, str)
            else _ecma_patterns(v)
            for k, v in schema.items()
        }  # fmt: skip
    if isinstance(schema, list):
        return [_ecma_patterns(v) for v in schema]
    return schema


def openapi_document() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        _TYPES, ref_template="#/components/schemas/{name}"
    )
    components = _ecma_patterns(components)
    member = [_path_param("member_id", _ID)]
    hold = [_path_param("hold_id", r"^[A-Za-z0-9-]{1,64}$")]
    paths: dict[str, Any] = {
        "/v1/health": {
            "get": {
                "operationId": "health",
                "security": [],
                "responses": {"200": {"description": "head office is up"}},
            }
        },
        "/v1/push": {
            "post": {
                "operationId": "push",
                "summary": "Store a till's entries exactly once (gzip body, Idempotency-Key)",
                "parameters": [
                    {
                        "name": p.IDEMPOTENCY_HEADER,
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 128},
                    }
                ],
                "requestBody": _body(p.PushRequest),
                "responses": _answers(200, p.PushAnswer, 409, 413, 415),
            }
        },
        "/v1/epochs": {
            "post": {
                "operationId": "newEpoch",
                "summary": "A new chain segment for a till restored from a backup (till token)",
                "requestBody": _body(p.EpochRequest),
                "responses": _answers(200, p.EpochAnswer, 409),
            }
        },
        "/v1/changes": {
            "get": {
                "operationId": "changes",
                "summary": "One page of changes after an opaque cursor (none: a snapshot)",
                "parameters": [
                    {
                        "name": "cursor",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 512},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": p.MAX_PAGE},
                    },
                ],  # fmt: skip
                "responses": _answers(200, p.ChangesAnswer, 410),
            }
        },
        "/v1/holds": {
            "post": {
                "operationId": "authorise",
                "requestBody": _body(p.HoldRequest),
                "responses": _answers(201, p.Hold, 404, 409),
            }
        },
        "/v1/holds/{hold_id}/capture": {
            "post": {
                "operationId": "capture",
                "parameters": hold,
                "requestBody": _body(p.CaptureRequest),
                "responses": _answers(200, p.Hold, 404, 409),
            }
        },
        "/v1/holds/{hold_id}/release": {
            "post": {
                "operationId": "release",
                "parameters": hold,
                "responses": _answers(200, p.Hold, 404),
            }
        },
        "/v1/members/{member_id}": {
            "get": {
                "operationId": "member",
                "parameters": member,
                "responses": _answers(200, p.MemberState, 404),
            },
            "put": {
                "operationId": "putMember",
                "parameters": member,
                "requestBody": _body(p.MemberRequest),
                "responses": _answers(200, p.MemberState, 409),
            },
            "delete": {
                "operationId": "eraseMember",
                "parameters": member,
                "responses": _answers(204, None, 404),
            },
        },
        "/v1/members/{member_id}/app-code": {
            "post": {
                "operationId": "appCode",
                "parameters": member,
                "responses": _answers(201, p.AppCode, 404, 409, 501),
            }
        },
        "/v1/tills": {
            "post": {
                "operationId": "registerTill",
                "requestBody": _body(p.TillRequest),
                "responses": _answers(201, p.TillToken, 409),
            }
        },
        "/v1/tills/{terminal_id}": {
            "delete": {
                "operationId": "revokeTill",
                "parameters": [_path_param("terminal_id", _ID)],
                "responses": _answers(204, None, 404),
            }
        },
        "/v1/tills/{terminal_id}/suspension": {
            "post": {
                "operationId": "suspendTill",
                "summary": "Refuse a till's pushes (403 till_suspended) until it is resumed",
                "parameters": [_path_param("terminal_id", _ID)],
                "requestBody": _body(p.SuspendRequest),
                "responses": _answers(204, None, 404),
            },
            "delete": {
                "operationId": "resumeTill",
                "parameters": [_path_param("terminal_id", _ID)],
                "responses": _answers(204, None, 404),
            },
        },
        "/v1/alerts/{alert_id}/ack": {
            "post": {
                "operationId": "acknowledgeAlert",
                "parameters": [
                    {
                        "name": "alert_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                    }
                ],
                "responses": _answers(204, None, 404),
            }
        },
        "/v1/channels": {
            "post": {
                "operationId": "registerChannel",
                "summary": "A channel's token (web shop, app): it reads members and posts its own",
                "requestBody": _body(p.ChannelRequest),
                "responses": _answers(201, p.ChannelToken, 409),
            }
        },
        "/v1/programs": {
            "post": {
                "operationId": "publishProgram",
                "requestBody": _body(p.ProgramRequest),
                "responses": _answers(200, p.ProgramVersion, 409),
            }
        },
        "/v1/keys": {
            "post": {
                "operationId": "addKey",
                "requestBody": _body(p.KeyRequest),
                "responses": _answers(204, None),
            }
        },
        "/v1/keys/{key_id}": {
            "delete": {
                "operationId": "revokeKey",
                "parameters": [_path_param("key_id", r"^[A-Za-z0-9_.-]{1,64}$")],
                "responses": _answers(204, None, 404),
            }
        },
        "/v1/deny-list": {
            "post": {
                "operationId": "deny",
                "requestBody": _body(p.DenyRequest),
                "responses": _answers(204, None),
            }
        },
        "/v1/deny-list/{code}": {
            "delete": {
                "operationId": "undeny",
                "parameters": [_path_param("code", r"^[A-Za-z0-9_.:-]{1,128}$")],
                "responses": _answers(204, None),
            }
        },
        "/v1/held": {
            "get": {
                "operationId": "heldEntries",
                "description": "Entries head office holds without crediting them, awaiting a "
                "decision (with decided=1, the decided ones too), oldest first.",
                "parameters": [
                    {
                        "name": "decided",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["0", "1"]},
                    }
                ],
                "responses": _answers(200, p.HeldAnswer),
            }
        },
        "/v1/held/{entry_id}/decision": {
            "post": {
                "operationId": "decideHeldEntry",
                "description": "Release (credit once, by head office's own entry) or reject a "
                "held entry after review; who, when and why are kept; the same decision again "
                "answers as the first did.",
                "parameters": [_path_param("entry_id", r"^[A-Za-z0-9-]{1,64}$")],
                "requestBody": _body(p.HeldDecisionRequest),
                "responses": _answers(200, p.HeldEntry, 404, 409),
            }
        },
        "/v1/reports/kpis": {
            "get": {
                "operationId": "kpis",
                "description": "The program's KPIs for a period of shop days, by day, week or "
                "month, for one till or the chain (docs/kpis.md): JSON, or the buckets as CSV. "
                "A reversed, future or over-long range or an unknown shop is a 422 problem.",
                "parameters": [
                    _query_param("from", {"type": "string", "format": "date"}),
                    _query_param("to", {"type": "string", "format": "date"}),
                    _query_param("by", {"type": "string", "enum": ["day", "week", "month"]}),
                    _query_param("shop", {"type": "string", "maxLength": 200}),
                    _query_param("format", {"type": "string", "enum": ["json", "csv"]}),
                ],
                "responses": _report_answers(),
            }
        },
        "/v1/offers": {
            "get": {
                "operationId": "offers",
                "description": "The personal offers, each with how many members hold it and "
                "its uses counted chain-wide.",
                "responses": _answers(200, po.OffersAnswer),
            },
            "post": {
                "operationId": "createOffer",
                "description": "A personal offer (a multiplier or bonus on categories, or a "
                "reward of the catalogue at the member's own cost) for a segment of members "
                "(tier, category "
                "bought in the last N days, birthday month, lapsed N days, a list of members): "
                "201 with how many active members it reaches. With dry_run, 200 and the count "
                "only, warning matches_nobody or matches_everybody; creating one that reaches "
                "nobody is refused (422 segment_matches_nobody), one that reaches everybody "
                "needs everybody=true (422 segment_matches_everybody); an offer id in use is "
                "409 offer_exists.",
                "requestBody": _body(po.OfferRequest),
                "responses": _answers(201, po.OfferAnswer, 409),
            },
        },
        "/v1/alerts": {
            "get": {
                "operationId": "alerts",
                "description": "Alerts for head office's staff (admin token), e.g. velocity.",
                "parameters": [
                    {
                        "name": "after",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
                    }
                ],
                "responses": _answers(200, p.AlertsAnswer),
            }
        },
        "/v1/referrals": {
            "get": {
                "operationId": "referrals",
                "description": "The latest referrals, newest first, and what became of each: "
                "pending, credited, or refused with its reason (admin token).",
                "parameters": [
                    _query_param(
                        "status", {"type": "string", "enum": ["pending", "credited", "refused"]}
                    ),
                ],
                "responses": _answers(200, pr.ReferralsAnswer),
            }
        },
    }
    paths.update(channel_openapi.paths(_body, _answers))
    for path, operations in paths.items():
        for method, operation in operations.items():
            roles = ROUTE_ROLES[(method.upper(), path)]
            operation["x-roles"] = sorted(roles)
            if not roles:
                operation["security"] = []
            who = ", ".join(sorted(roles)) or "anyone, no token"
            note = f"Roles: {who}."
            text = operation.get("description")
            operation["description"] = f"{text} {note}" if text else note
    return {
        "openapi": "3.1.0",
        "info": {"title": "Loyalty head office", "version": p.API_VERSION},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
