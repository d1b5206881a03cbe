"""Fixtures of the channel tests: head office on 127.0.0.1 with a clock the test moves, and a
channel client that talks to it over real HTTP with its own token."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync import protocol as p
from sync.headoffice.serve import ServerThread
from sync.headoffice.service import HeadOffice
from sync.headoffice.store import open_store
from tests.sync_fixtures import ADMIN, PROGRAM, Shop

START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)  # a Tuesday: double points
_keys = itertools.count(1)


class Clock:
    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@dataclass
class Channel:
    """A channel (web shop, app) over real HTTP, with its own token."""

    http: httpx.Client
    channel_id: str

    def post(self, what: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        key = key or f"k-{next(_keys)}"
        return self.http.post(
            f"/v1/channel/{what}", json=body, headers={p.IDEMPOTENCY_HEADER: key}
        )

    def ok(self, what: str, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        resp = self.post(what, body, key)
        assert resp.status_code == 201, resp.text
        answer: dict[str, Any] = resp.json()
        return answer


@dataclass
class ChannelShop(Shop):
    clock: Clock = Clock()
    channels: list[httpx.Client] | None = None

    def channel(self, channel_id: str = "web") -> Channel:
        token = self.ho.register_channel(channel_id)
        http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, trust_env=False,
            timeout=30,
        )  # fmt: skip
        self.opened.append(http)  # type: ignore[arg-type]
        return Channel(http, channel_id)


@pytest.fixture
def channel_shop(store_url: str, tmp_path: Path) -> Iterator[ChannelShop]:
    clock = Clock()
    ho = HeadOffice(open_store(store_url), admin_token=ADMIN, clock=clock)
    ho.publish_program(PROGRAM)
    server = ServerThread(ho)
    shop = ChannelShop(ho, server.start(), tmp_path, clock=clock)
    yield shop
    shop.close()
    server.stop()
    ho.store.close()


def line(amount_minor: int, category: str = "grocery", sku: str = "SKU-1") -> dict[str, Any]:
    return {"sku": sku, "category": category, "amount_minor": amount_minor}
