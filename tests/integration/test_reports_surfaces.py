"""The same KPIs on every surface: ``till headoffice report`` (a real process on head office's
database) and ``GET /v1/reports/kpis`` (admin only, a real server on 127.0.0.1), on SQLite and
PostgreSQL, against the worked example of docs/kpis.md; bad input is one translated line and
exit 2, or a 422 problem, never a 500."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from sync.headoffice.reports import csv_text
from tests.integration.test_reports import kpis, worked_example
from tests.sync_fixtures import ADMIN, Shop, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]

TILL = str(Path(sys.executable).with_name("till"))
RANGE = ("--from", "2026-11-01", "--to", "2026-11-20", "--by", "week")


def till(db: str, *argv: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TILL_LANGUAGE": lang}
    return subprocess.run(
        [TILL, "headoffice", "report", "--db", db, *argv],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip


def test_the_command_and_the_api_give_the_worked_examples_figures(
    shop: Shop, store_url: str
) -> None:
    clock, _ = worked_example(shop)
    expected = kpis(shop.ho, clock.at, "2026-11-01", "2026-11-20", "week")
    printed = till(store_url, *RANGE, "--format", "csv")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == csv_text(expected)
    as_json = till(store_url, *RANGE, "--shop", "ATH1")
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    assert doc["period"]["points_issued"] == 395
    assert doc["buckets"] == kpis(shop.ho, clock.at, *RANGE[1::2], shop="ATH1")["buckets"]

    params = {"from": "2026-11-01", "to": "2026-11-20", "by": "week"}
    with httpx.Client(base_url=shop.url, trust_env=False, timeout=60) as http:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        answer = http.get("/v1/reports/kpis", params=params, headers=admin)
        assert answer.status_code == 200, answer.text
        assert answer.json() == expected  # head office's clock is the worked example's
        answer = http.get("/v1/reports/kpis", params={**params, "format": "csv"}, headers=admin)
        assert answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
        assert answer.text == csv_text(expected)
        for bad, code in [
            ({"from": "2026-11-20", "to": "2026-11-01"}, "range_reversed"),
            ({"to": "2026-12-01"}, "range_in_future"),
            ({"from": "2016-11-01", "to": "2026-11-01"}, "range_too_long"),
            ({"from": "yesterday"}, "bad_date"),
            ({"shop": "NOWHERE"}, "unknown_shop"),
            ({"format": "xlsx"}, "malformed_format"),
        ]:
            answer = http.get("/v1/reports/kpis", params=bad, headers=admin)
            assert (answer.status_code, answer.json()["code"]) == (422, code), bad
        token = shop.ho.register_till("T9")
        answer = http.get("/v1/reports/kpis", headers={"Authorization": f"Bearer {token}"})
        assert (answer.status_code, answer.json()["code"]) == (403, "admin_only")


def test_bad_input_is_one_translated_line(shop: Shop, store_url: str) -> None:
    shop.till("ATH1")
    reversed_ = till(store_url, "--from", "2026-11-20", "--to", "2026-11-01")
    assert reversed_.returncode == 2 and reversed_.stdout == ""
    assert reversed_.stderr.strip() == (
        "till: the report's range ends (2026-11-01) before it starts (2026-11-20)"
    )
    greek = till(store_url, "--shop", "NOWHERE", lang="el")
    assert (greek.returncode, greek.stderr.strip()) == (
        2, "till: τα κεντρικά δεν γνωρίζουν ταμείο NOWHERE"
    )  # fmt: skip
    long = till(store_url, "--from", "2016-01-01", "--to", "2026-01-01", lang="pl")
    assert long.returncode == 2
    assert "dni: 3654" in long.stderr and "najwyżej: 1096" in long.stderr


def test_the_dashboard_is_for_signed_in_admins_only(shop: Shop) -> None:
    from sync.headoffice.serve import ServerThread
    from terminal.commands.headoffice_serve import dashboard_words

    till_token = shop.ho.register_till("ATH1")
    with (
        ServerThread(shop.ho, words=dashboard_words) as url,
        httpx.Client(base_url=url, trust_env=False, timeout=60) as http,
    ):
        assert http.get("/dashboard/kpis.csv").status_code == 303
        page = http.get("/dashboard", params={"lang": "th"})
        assert page.status_code == 200 and 'name="token"' in page.text
        assert "เข้าสู่ระบบ" in page.text and 'lang="th"' in page.text
        for wrong in (till_token, "", "x" * 300):
            answer = http.post("/dashboard/sign-in", data={"token": wrong, "lang": "en"})
            assert answer.status_code == 401 and "ho_dashboard" not in answer.cookies
        answer = http.post("/dashboard/sign-in", data={"token": ADMIN, "lang": "fa"})
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        page = http.get("/dashboard", params={"lang": "fa"})
        assert 'dir="rtl"' in page.text and 'id="kpi-points-issued"' in page.text
        assert http.get("/dashboard/kpis.csv").text.startswith("bucket,from,to")
        assert http.post("/dashboard/sign-out").status_code == 303
        assert http.get("/dashboard/kpis.csv").status_code == 303


def test_the_dashboard_serves_the_fonts_it_names_and_nothing_else(shop: Shop) -> None:
    from printer.shaping import FONT_DIR
    from sync.headoffice.serve import ServerThread
    from terminal.commands.headoffice_serve import dashboard_words

    with (
        ServerThread(shop.ho, words=dashboard_words, fonts=FONT_DIR) as url,
        httpx.Client(base_url=url, trust_env=False, timeout=60) as http,
    ):
        page = http.get("/dashboard", params={"lang": "th"}).text
        named = sorted(set(re.findall(r"/dashboard/fonts/([\w-]+\.ttf)", page)))
        assert named == [
            "NotoNaskhArabic-Bold.ttf", "NotoNaskhArabic-Regular.ttf",
            "NotoSansThai-Bold.ttf", "NotoSansThai-Regular.ttf",
        ]  # fmt: skip
        for name in named:
            font = http.get(f"/dashboard/fonts/{name}")
            assert font.status_code == 200 and font.content == (FONT_DIR / name).read_bytes()
        for other in ("OFL.txt", "..%2Fshaping.py", "%2E%2E%2F%2E%2E%2Fpyproject.toml"):
            assert http.get(f"/dashboard/fonts/{other}").status_code == 404
