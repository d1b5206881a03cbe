"""``GET /v1/reports/kpis?from=D&to=D&by=day|week|month&shop=T&format=json|csv`` (admin only,
roles.py): the report of ``reports.report`` as JSON, or its buckets as CSV. Bad input is a 422
problem with the report's code (``range_reversed``...) and parameters, never a 500."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sync import protocol as p
from sync.headoffice.reports import ReportError, csv_text, for_headoffice
from sync.headoffice.rows import ApiProblem

FORMATS = ("json", "csv")
CSV = "text/csv; charset=utf-8"


def _param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is not None and len(value) > 200:
        raise ApiProblem(422, "malformed_query", parameter=name)
    return value or None


async def kpis_answer(ho: Any, request: Request) -> Response:
    fmt = _param(request, "format") or "json"
    if fmt not in FORMATS:
        raise ApiProblem(422, "malformed_format", value=fmt[:20], allowed=", ".join(FORMATS))
    start, end = _param(request, "from"), _param(request, "to")
    by, shop = _param(request, "by") or "day", _param(request, "shop")
    try:
        doc = await run_in_threadpool(for_headoffice, ho, start, end, by, shop)
    except ReportError as exc:
        code = exc.code  # ReportError's codes: tests/unit/test_error_codes.py reads them
        raise ApiProblem(422, code, **exc.params) from None
    if fmt == "csv":
        name = f"kpis-{doc['query']['from']}-{doc['query']['to']}.csv"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(csv_text(doc), 200, headers=headers, media_type=CSV)
    return Response(p.encode(doc), 200, media_type="application/json")
