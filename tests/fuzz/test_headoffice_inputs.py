"""No input makes head office answer 500 (issue 20, finding 7), on SQLite and PostgreSQL, over a
real socket: numbers beyond any database integer, program documents nested thousands deep,
path parameters of any bytes. Hypothesis fuzzes each; the named cases are the ones seen. And
the OpenAPI document is valid OpenAPI 3.1 (openapi-spec-validator)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import OpenAPIV31SpecValidator

from sync.headoffice.serve import ServerThread
from tests.sync_fixtures import ADMIN, headoffice, postgres, store_url  # noqa: F401 (fixtures)

FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


@pytest.fixture
def client(store_url: str) -> Iterator[httpx.Client]:  # noqa: F811
    ho = headoffice(store_url)
    with (
        ServerThread(ho) as url,
        httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60, trust_env=False
        ) as http,
    ):
        yield http
    ho.store.close()


def nested(depth: int, inline: bool) -> str:
    value = "{a = " * depth + "1" + "}" * depth if inline else "[" * depth + "]" * depth
    return f'[program]\nversion = "x"\ndeep = {value}\n'


def test_the_cases_seen_are_clear_refusals(client: httpx.Client) -> None:
    answer = client.get("/v1/alerts", params={"after": str(10**40)})
    assert (answer.status_code, answer.json()["code"]) == (422, "malformed_after")
    assert client.get("/v1/alerts", params={"after": "-1"}).status_code == 422
    assert client.get("/v1/alerts", params={"after": str(2**63 - 1)}).status_code == 200
    for inline in (False, True):
        answer = client.post("/v1/programs", json={"document": nested(5000, inline)})
        assert answer.status_code == 422, answer.text
        assert answer.json()["params"]["problem"] == "too_deeply_nested"
    for code in ["%00", "a%20b", "%E2%80%AE", "x" * 129, "%FF"]:
        answer = client.delete(f"/v1/deny-list/{code}")
        assert (answer.status_code, answer.json()["code"]) == (422, "malformed_code"), code
    assert client.delete("/v1/deny-list/400000000002").status_code == 204
    assert client.delete("/v1/keys/%2F..%2Fx").status_code in (404, 422)


@given(
    after=st.one_of(
        st.integers(min_value=-(10**50), max_value=10**50).map(str),
        st.text(max_size=30),
    ),
    code=st.text(min_size=1, max_size=200),
    key_id=st.text(min_size=1, max_size=100),
    depth=st.integers(min_value=0, max_value=6000),
    inline=st.booleans(),
)
@FUZZ
def test_no_input_gets_a_server_error(
    client: httpx.Client, after: str, code: str, key_id: str, depth: int, inline: bool
) -> None:
    answers = [
        client.get("/v1/alerts", params={"after": after}),
        client.delete(f"/v1/deny-list/{quote(code, safe='')}"),
        client.delete(f"/v1/keys/{quote(key_id, safe='')}"),
        client.post("/v1/programs", json={"document": nested(depth, inline)}),
    ]
    for answer in answers:
        assert answer.status_code < 500, (answer.request.url, answer.text[:200])


def test_the_openapi_document_is_valid_openapi_3_1(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    errors = [str(e.message) for e in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []
