"""Schemathesis drives every operation of head office's OpenAPI document against the real
server (SQLite, on 127.0.0.1): whatever it sends, head office never answers with a 5xx (the
501 of app codes when no minter is injected is a documented answer, not an error)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from sync import protocol as p
from sync.headoffice.serve import ServerThread
from sync.headoffice.service import HeadOffice
from sync.headoffice.store import open_store
from tests.sync_fixtures import ADMIN, PROGRAM


class Api:
    def __init__(self, url: str, till_token: str, channel_token: str) -> None:
        self.url = url
        self.tokens = (ADMIN, till_token, channel_token)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    path = Path(tmp_path_factory.mktemp("fuzz")) / "headoffice.sqlite"
    ho = HeadOffice(open_store(str(path)), admin_token=ADMIN)
    ho.publish_program(PROGRAM)
    ho.upsert_member("M1", p.MemberRequest())
    token = ho.register_till("T1")
    channel = ho.register_channel("web")  # the channel routes are driven with its token
    with ServerThread(ho) as url:
        yield Api(url, token, channel)
    ho.store.close()


@pytest.fixture(scope="module")
def api_schema(api: Api) -> schemathesis.BaseSchema:
    document = httpx.get(f"{api.url}/openapi.json").json()
    loaded = schemathesis.openapi.from_dict(document)
    # Random fuzzing only: the exhaustive "coverage" phase takes minutes on 2 shared cores.
    loaded.config.phases.coverage.enabled = False
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error(case: schemathesis.Case, api: Api) -> None:
    for token in api.tokens:
        response = case.call(base_url=api.url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500 or response.status_code == 501, (
            case.method,
            case.path,
            response.status_code,
            response.text[:300],
        )
