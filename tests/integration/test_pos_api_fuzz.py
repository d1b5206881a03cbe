"""Schemathesis drives every operation of the till API's OpenAPI document against the real
server (a till data dir on SQLite, on 127.0.0.1): whatever it sends, the API never answers
with a 5xx, and what it answers matches the document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from loyalty.till import Till
from terminal import config as config_mod
from terminal.pos.serve import ApiServer
from terminal.pos.token import token_path
from tests.pos_fixtures import make_data_dir


class Served:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = make_data_dir(Path(tmp_path_factory.mktemp("posfuzz")) / "data")
    till = Till.open(folder)
    server = ApiServer(till, config_mod.load(str(folder)), port=0)
    url = server.start()
    try:
        yield Served(url, token_path(folder).read_text(encoding="utf-8").strip())
    finally:
        server.stop()
        till.close()


@pytest.fixture(scope="module")
def api_schema(served: Served) -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_dict(httpx.get(f"{served.url}/openapi.json").json())
    # Random fuzzing only: the exhaustive "coverage" phase takes minutes on 2 shared cores.
    loaded.config.phases.coverage.enabled = False
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)  # fmt: skip
def test_no_server_error_and_answers_match_the_document(
    case: schemathesis.Case, served: Served
) -> None:
    response = case.call(base_url=served.url, headers={"Authorization": f"Bearer {served.token}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    # A schema-valid body may still be refused by the rules (an unknown member, lines that do
    # not add up, a garbled scanned code): 404/409/422 with a Problem, which the document says.
    case.validate_response(response, excluded_checks=[checks.positive_data_acceptance])
