"""The dashboard's routes (roles.py lists them as public: they sign admins in themselves).

- ``GET /dashboard``: the sign-in form, or (signed in) the dashboard for the period asked
  (``from``, ``to``, ``by``, ``shop``, ``lang``); bad input shows its message above the form.
- ``POST /dashboard/sign-in``: the admin token (a form field) -> a session cookie (HttpOnly,
  SameSite=Strict, 12 hours, kept in this process only: a restart signs everyone out).
- ``GET /dashboard/fonts/{name}``: the fonts the page names for Thai and Persian, handed in by
  whoever starts the server (the receipts' Noto fonts), so no browser shows empty boxes for
  want of a system font.
- ``POST /dashboard/sign-out``; ``GET /dashboard/kpis.csv``: the buckets as CSV, the very
  table ``till headoffice report --format csv`` prints.
Without ``Words`` (a server started without texts) the dashboard is off: 404."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from loyalty.program import localised
from sync.headoffice.dashboard import LANGUAGES, WordsFor, page
from sync.headoffice.reports import ReportError, csv_text, for_headoffice
from sync.headoffice.rows import ApiProblem

COOKIE = "ho_dashboard"
SESSION_HOURS = 12
MAX_SESSIONS = 1000
MAX_FORM_BYTES = 4096
_FIELDS = ("from", "to", "by", "shop")


class Sessions:
    """Signed-in browsers: a random id -> when it lapses (head office's clock)."""

    def __init__(self) -> None:
        self._lapse: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    def new(self, now: dt.datetime) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._lapse = {k: v for k, v in self._lapse.items() if v > now}
            if len(self._lapse) >= MAX_SESSIONS:
                self._lapse.pop(min(self._lapse, key=self._lapse.__getitem__))
            self._lapse[sid] = now + dt.timedelta(hours=SESSION_HOURS)
        return sid

    def valid(self, sid: str | None, now: dt.datetime) -> bool:
        with self._lock:
            lapse = self._lapse.get(sid or "")
        return lapse is not None and lapse > now

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._lapse.pop(sid or "", None)


class Dashboard:
    def __init__(self, ho: Any, words: WordsFor | None, fonts: Path | None = None) -> None:
        self.ho = ho
        self.words = words
        self.sessions = Sessions()
        self.fonts = {f.name: f for f in fonts.glob("*.ttf")} if fonts is not None else {}

    async def font(self, request: Request) -> Response:
        """One of the fonts handed in, by its file name only (no path is ever read)."""
        found = self.fonts.get(str(request.path_params.get("name", "")))
        if found is None:  # a missing asset, not an API answer: no problem document
            return Response(status_code=404)
        return FileResponse(found, media_type="font/ttf",
                            headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip

    def _words(self, request: Request, lang: str | None = None) -> Any:
        if self.words is None:
            raise ApiProblem(404, "dashboard_off")
        lang = lang or request.query_params.get("lang")
        if lang not in LANGUAGES:
            lang = None
        return self.words(lang)

    def _signed_in(self, request: Request) -> bool:
        return self.sessions.valid(request.cookies.get(COOKIE), self.ho.clock())

    async def show(self, request: Request) -> Response:
        words = self._words(request)
        if not self._signed_in(request):
            return HTMLResponse(page.sign_in(words, failed=False))
        query = {k: v[:40] for k in _FIELDS if (v := request.query_params.get(k))}
        query["lang"] = words.lang
        shops, names = await run_in_threadpool(self._shops, words.lang)
        try:
            doc = await run_in_threadpool(
                for_headoffice, self.ho, query.get("from"), query.get("to"),
                query.get("by", "day"), query.get("shop"),
            )  # fmt: skip
        except ReportError as exc:
            message = words(f"headoffice.report.{exc.code}", **exc.params)
            return HTMLResponse(page.dashboard(None, words, query, shops, message, names), 422)
        query.setdefault("from", doc["query"]["from"])
        query.setdefault("to", doc["query"]["to"])
        return HTMLResponse(page.dashboard(doc, words, query, shops, names=names))

    def _shops(self, lang: str) -> tuple[list[str], dict[str, str]]:
        """The tills to drill into, and the program's names of its tiers, rewards and
        engagement actions."""
        with self.ho.store.transaction() as tx:
            shops = [str(r[0]) for r in tx.all("SELECT terminal_id FROM tills ORDER BY 1")]
            program = self.ho.program(tx)
        names: dict[str, str] = {}
        if program is not None:
            for item in (*program.tiers, *program.rewards):
                names[item.id] = localised(item.name, lang)
            for rule in program.engagement:  # keyed apart: an action may share a reward's id
                names[f"engage:{rule.action}"] = localised(rule.name, lang)
        return shops, names

    async def sign_in(self, request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise ApiProblem(413, "body_too_large", limit=MAX_FORM_BYTES)
        form = parse_qs(body.decode("utf-8", "replace"))
        lang = (form.get("lang") or [""])[0]
        words = self._words(request, lang)
        token = (form.get("token") or [""])[0]
        try:
            role, _ = await run_in_threadpool(self.ho.principal, token) if token else ("", "")
        except ApiProblem:
            role = ""
        if role != "admin":
            return HTMLResponse(page.sign_in(words, failed=True), 401)
        sid = self.sessions.new(self.ho.clock())
        answer = RedirectResponse(f"/dashboard?lang={words.lang}", 303)
        answer.set_cookie(COOKIE, sid, max_age=SESSION_HOURS * 3600, path="/dashboard",
                          httponly=True, samesite="strict")  # fmt: skip
        return answer

    async def sign_out(self, request: Request) -> Response:
        self.sessions.end(request.cookies.get(COOKIE))
        answer = RedirectResponse("/dashboard", 303)
        answer.delete_cookie(COOKIE, path="/dashboard")
        return answer

    async def csv(self, request: Request) -> Response:
        self._words(request)
        if not self._signed_in(request):
            return RedirectResponse("/dashboard", 303)
        q = request.query_params
        try:
            doc = await run_in_threadpool(
                for_headoffice, self.ho, q.get("from") or None, q.get("to") or None,
                q.get("by") or "day", q.get("shop") or None,
            )  # fmt: skip
        except ReportError as exc:
            code = exc.code  # ReportError's codes: tests/unit/test_error_codes.py reads them
            raise ApiProblem(422, code, **exc.params) from None
        name = f"kpis-{doc['query']['from']}-{doc['query']['to']}.csv"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(csv_text(doc), 200, headers=headers, media_type="text/csv; charset=utf-8")
