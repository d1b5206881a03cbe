"""The till API over real HTTP on 127.0.0.1 against a real till data dir (SQLite): a POS
identifies members, asks what they can redeem, records sales by its own id exactly once
(retried, also concurrently), refunds by that id, and every refusal is a code with a message
in the asked language."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from terminal.pos.openapi import openapi_document
from terminal.pos.token import token_path
from tests.pos_fixtures import Api, api, app_code

__all__ = ["api"]

SALE: dict[str, Any] = {
    "pos_sale_id": "ODOO-POS/0001",
    "member": "4000 0000 0002",
    "currency": "EUR",
    "total_minor": 4250,
    "lines": [
        {"sku": "OIL-1L", "category": "grocery", "amount_minor": 2500},
        {"sku": "FETA", "category": "grocery", "amount_minor": 1750},
    ],
}


def test_the_document_is_valid_openapi_3_1(api: Api) -> None:
    document = httpx.get(f"{api.url}/openapi.json").json()
    validate(document)
    assert document == openapi_document()
    assert document["openapi"] == "3.1.0"


def test_without_the_token_nothing_is_answered(api: Api) -> None:
    mode = stat.S_IMODE(os.stat(token_path(api.folder)).st_mode)
    assert mode == 0o600
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        r = httpx.post(f"{api.url}/v1/sales", json=SALE, headers=headers)
        assert r.status_code == 401
        assert r.json()["code"] == "pos_unauthorised"
    assert api.sales() == 0


@pytest.mark.parametrize(
    "code", ["400000000002", "4000 0000 0002", "4000-0000-0002", "M000001", "+30 694 000 0001"]
)
def test_a_member_is_found_however_the_pos_has_them(api: Api, code: str) -> None:
    r = api.http.post("/v1/members/identify", json={"code": code})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["member_id"] == "M000001"
    assert body["language"] == "el"
    assert body["balance"]["available"] == 1200


def test_unknown_and_blocked_members_are_refused_with_a_code(api: Api) -> None:
    r = api.http.post("/v1/members/identify", json={"code": "M999999"})
    assert (r.status_code, r.json()["code"]) == (404, "unknown_member")
    r = api.http.post(
        "/v1/members/identify", json={"code": "M000004"}, headers={"Accept-Language": "pl"}
    )
    assert (r.status_code, r.json()["code"]) == (409, "member_blocked")
    assert "zablokowany" in r.json()["message"] or "M000004" in r.json()["message"]
    blocked = {**SALE, "pos_sale_id": "B-1", "member": "M000004"}
    assert api.http.post("/v1/sales", json=blocked).json()["code"] == "member_blocked"
    assert api.sales() == 0


def test_what_a_member_can_redeem(api: Api) -> None:
    r = api.http.get("/v1/members/M000002/redeemable")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["available"] == 5000 and body["currency"] == "EUR"
    assert body["rewards"], "the sample program has rewards"
    for reward in body["rewards"]:
        assert reward["affordable"] == (reward["cost_points"] <= 5000)
    assert body["points_payment"]["points"] == 100


def test_a_sale_is_recorded_once_and_a_retry_gets_the_first_answer(api: Api) -> None:
    first = api.http.post("/v1/sales", json=SALE)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["total_minor"] == 4250 and answer["pos_sale_id"] == "ODOO-POS/0001"
    block = answer["loyalty"]
    assert block["language"] == "el"
    assert block["points_earned"] > 0
    # Earned points wait out the return window (pending); the balance is what it was.
    assert block["balance"]["available"] == 1200
    assert block["balance"]["pending"] == block["points_earned"]
    assert block["balance_before"] == 1200
    assert any("Eleni" in line for line in block["lines"])
    assert any(any("\u0370" <= ch <= "\u03ff" for ch in line) for line in block["lines"])
    # The same body again, keys in another order and other spacing: the same answer, no sale.
    again = api.http.post(
        "/v1/sales",
        content=json.dumps(dict(reversed(list(SALE.items()))), indent=1),
        headers={"Content-Type": "application/json"},
    )
    assert again.status_code == 200
    assert again.json() == answer
    assert api.sales() == 1
    fetched = api.http.get("/v1/sales/ODOO-POS/0001")
    assert fetched.json() == answer


def test_the_same_pos_id_with_another_body_is_refused(api: Api) -> None:
    assert api.http.post("/v1/sales", json=SALE).status_code == 200
    other = {**SALE, "total_minor": 2500, "lines": SALE["lines"][:1]}
    r = api.http.post("/v1/sales", json=other, headers={"Accept-Language": "el"})
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "pos_id_reused"
    assert "ODOO-POS/0001" in body["message"] and "POS" in body["message"]
    assert body["message"] != "the POS id"  # translated, not the key
    assert api.sales() == 1


def test_concurrent_retries_record_one_sale(api: Api) -> None:
    sale = {**SALE, "pos_sale_id": "RACE-1"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: api.http.post("/v1/sales", json=sale), range(16)))
    assert {r.status_code for r in answers} == {200}
    assert len({r.text for r in answers}) == 1
    assert api.sales() == 1


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"total_minor": 4251}, 422, "total_does_not_match_lines"),
        ({"currency": "USD"}, 422, "pos_currency_mismatch"),
        ({"total_minor": 10**13, "lines": []}, 422, "sale_too_large"),
        ({"member": "nobody"}, 404, "unknown_member"),
        ({"reward_id": "no-such-reward"}, 409, "unknown_reward"),
        ({"total_minor": "42.50"}, 422, "pos_invalid_request"),
        ({"pos_sale_id": "bad id\n"}, 422, "pos_invalid_request"),
        ({"surprise": 1}, 422, "pos_invalid_request"),
    ],
)
def test_bad_sales_are_refused_and_record_nothing(
    api: Api, change: dict[str, Any], status: int, code: str
) -> None:
    for lang in ("en", "el", "pl", "ro", "th", "fa"):
        r = api.http.post("/v1/sales", json={**SALE, **change}, headers={"Accept-Language": lang})
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
        assert r.json()["message"] and not r.json()["message"].startswith("loyalty.")
    assert api.sales() == 0


def test_a_body_beyond_the_limit_is_refused_before_it_is_read_whole(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"pos_sale_id": "' + b"x" * 200_000
        yield b"y" * 200_000

    r = api.http.post("/v1/sales", content=chunks(), headers={"Accept-Language": "th"})
    assert (r.status_code, r.json()["code"]) == (413, "pos_too_large")
    assert api.sales() == 0


def test_a_body_that_is_not_json_is_refused(api: Api) -> None:
    r = api.http.post("/v1/sales", content=b"\xff{", headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (400, "pos_bad_json")


def test_a_reward_and_points_payment(api: Api) -> None:
    rewards = api.http.get("/v1/members/M000002/redeemable").json()["rewards"]
    reward = next(r for r in rewards if r["affordable"] and r["effect"] == "fixed_discount")
    sale = {**SALE, "pos_sale_id": "R-1", "member": "M000002", "reward_id": reward["reward_id"],
            "payment_points": 500}  # fmt: skip
    r = api.http.post("/v1/sales", json=sale)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["discount_minor"] > 0 and body["payment_minor"] > 0
    assert body["paid_minor"] == 4250 - body["discount_minor"] - body["payment_minor"]
    assert body["loyalty"]["points_redeemed"] == reward["cost_points"] + 500


def test_refunds_by_the_pos_sale_id(api: Api) -> None:
    sold = api.http.post("/v1/sales", json=SALE).json()
    part = {"pos_refund_id": "RF-1", "pos_sale_id": "ODOO-POS/0001",
            "lines": [{"sku": "FETA", "amount_minor": 1750}]}  # fmt: skip
    first = api.http.post("/v1/refunds", json=part)
    assert first.status_code == 200, first.text
    refund = first.json()
    assert refund["refund_of"] == sold["receipt_no"] and refund["amount_minor"] == 1750
    assert refund["points_reversed"] > 0
    # A retried refund refunds nothing more; the rest refunds under a new id.
    assert api.http.post("/v1/refunds", json=part).json() == refund
    rest = api.http.post(
        "/v1/refunds", json={"pos_refund_id": "RF-2", "pos_sale_id": "ODOO-POS/0001"}
    )
    assert rest.status_code == 200, rest.text
    assert rest.json()["amount_minor"] == 2500
    assert rest.json()["loyalty"]["balance"]["available"] == 1200
    again = api.http.post(
        "/v1/refunds", json={"pos_refund_id": "RF-3", "pos_sale_id": "ODOO-POS/0001"}
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_refunded")
    unknown = api.http.post("/v1/refunds", json={"pos_refund_id": "RF-4", "pos_sale_id": "NOPE"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "pos_unknown_sale")
    row = api.till.db.one("SELECT count(*) AS n FROM sales WHERE kind = 'refund'")
    assert row is not None and row["n"] == 2


def test_a_scanned_app_code_identifies_and_is_spent_by_its_sale(api: Api) -> None:
    code = app_code("M000003", nonce=7)
    r = api.http.post("/v1/members/identify", json={"code": code})
    assert r.status_code == 200, r.text
    assert r.json()["member_id"] == "M000003"
    sale = {**SALE, "pos_sale_id": "APP-1", "member": code}
    first = api.http.post("/v1/sales", json=sale)
    assert first.status_code == 200, first.text
    assert first.json()["member_id"] == "M000003"
    # The POS retries with the code its sale spent: the first answer, nothing new.
    assert api.http.post("/v1/sales", json=sale).json() == first.json()
    # Another sale with that code is a replay.
    other = {**sale, "pos_sale_id": "APP-2"}
    r = api.http.post("/v1/sales", json=other, headers={"Accept-Language": "ro"})
    assert (r.status_code, r.json()["code"]) == (422, "scan_replay"), r.text
    forged = code[:-4] + ("AAAA" if not code.endswith("AAAA") else "BBBB")
    r = api.http.post("/v1/members/identify", json={"code": forged})
    assert r.status_code == 422 and r.json()["code"].startswith("scan_")
    assert api.sales() == 1


def test_a_preview_records_nothing_spends_no_app_code_and_matches_the_sale(api: Api) -> None:
    code = app_code("M000002", nonce=9)
    basket = {k: v for k, v in SALE.items() if k != "pos_sale_id"}
    basket = {**basket, "member": code, "reward_id": "five-off", "payment_points": 500}
    r = api.http.post("/v1/sales/preview", json=basket)
    assert r.status_code == 200, r.text
    would = r.json()
    assert would["member_id"] == "M000002" and would["points_redeemed"] == 500 + 500
    assert (
        would["paid_minor"]
        == would["total_minor"] - would["discount_minor"] - would["payment_minor"]
    )
    assert api.sales() == 0
    assert api.http.post("/v1/sales/preview", json=basket).json() == would  # again: the same
    sold = api.http.post("/v1/sales", json={**basket, "pos_sale_id": "PV-1"})
    assert sold.status_code == 200, sold.text  # the app code was not spent by the preview
    body = sold.json()
    assert body["loyalty"]["points_earned"] == would["points_earned"]
    assert body["paid_minor"] == would["paid_minor"]
    assert body["loyalty"]["balance"]["available"] == would["balance_after"]
    bad = api.http.post("/v1/sales/preview", json={**basket, "currency": "PLN"})
    assert (bad.status_code, bad.json()["code"]) == (422, "pos_currency_mismatch")
    assert api.sales() == 1
