"""Faults between a till and head office, each ending with every entry stored exactly once:
the answer lost after head office committed, connection resets, 500s, 429 with Retry-After,
slow answers, head office killed mid-sync, and the till's own process killed mid-sync."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from loyalty import outbox
from loyalty.till import Till
from sync.client import SyncClient, SyncFailed, Timeouts
from sync.headoffice.service import HeadOffice
from sync.headoffice.store import open_store
from sync.testing import Fault, FaultProxy, ServerProcess, http_response
from tests.sync_fixtures import (
    ADMIN,
    PROGRAM,
    Shop,
    assert_exactly_once,
    buy,
    postgres,
    shop,
    store_url,
)

__all__ = ["postgres", "shop", "store_url"]
ROOT = Path(__file__).resolve().parents[2]


class Sleeps(list[float]):
    """Records the delays the client asked for instead of sleeping them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _proxied(
    shop: Shop, terminal_id: str, **options: object
) -> tuple[Till, SyncClient, FaultProxy, Sleeps]:
    port = int(shop.url.rsplit(":", 1)[1])
    proxy = FaultProxy("127.0.0.1", port)
    sleeps = Sleeps()
    till, client = shop.till(terminal_id, url=proxy.url, sleep=sleeps, **options)
    return till, client, proxy, sleeps


def _sell(till: Till, n: int) -> None:
    for i in range(n):
        buy(till, f"M{i % 3}", 1000 + i)


@pytest.fixture
def members(shop: Shop) -> Shop:
    for i in range(3):
        shop.member(f"M{i}")
    return shop


def test_answer_lost_after_head_office_committed(members: Shop) -> None:
    till, client, proxy, _ = _proxied(members, "T1", batch_size=5)
    _sell(till, 6)
    proxy.add(Fault("/v1/push", "drop", times=2))
    report = client.sync()
    assert proxy.applied == ["drop /v1/push", "drop /v1/push"]
    assert report.outbox == 0
    assert_exactly_once(members.ho, till)
    proxy.close()


@pytest.mark.parametrize(
    ("path", "kind", "times", "raw"),
    [
        ("/v1/push", "reset", 2, b""),
        ("/v1/push", "respond", 3, http_response(500, "Oops", {}, b"boom")),
        ("/v1/changes", "reset", 1, b""),
    ],
    ids=["reset", "500", "reset-on-pull"],
)
def test_transient_failures_are_retried(
    members: Shop, path: str, kind: str, times: int, raw: bytes
) -> None:
    till, client, proxy, sleeps = _proxied(members, "T1", batch_size=4)
    _sell(till, 5)
    proxy.add(Fault(path, kind, times=times, raw=raw))
    client.sync()
    assert len(proxy.applied) == times
    assert len(sleeps) == times
    assert_exactly_once(members.ho, till)
    proxy.close()


def test_429_retry_after_is_honoured(members: Shop) -> None:
    till, client, proxy, sleeps = _proxied(members, "T1", backoff_base=0.01)
    _sell(till, 3)
    limited = http_response(429, "Too Many Requests", {"Retry-After": "7"}, b"")
    proxy.add(Fault("/v1/push", "respond", times=2, raw=limited))
    client.sync()
    assert sleeps[:2] == [7.0, 7.0]
    assert_exactly_once(members.ho, till)
    proxy.close()


def test_a_slow_answer_times_out_and_the_retry_is_a_replay(members: Shop) -> None:
    till, client, proxy, sleeps = _proxied(members, "T1", timeouts=Timeouts(read=0.3))
    _sell(till, 4)
    proxy.add(Fault("/v1/push", "stall", seconds=1.0))
    report = client.sync()
    assert proxy.applied == ["stall /v1/push"]
    assert len(sleeps) == 1 and report.outbox == 0
    assert_exactly_once(members.ho, till)
    proxy.close()


def test_giving_up_leaves_the_outbox_intact(members: Shop) -> None:
    till, client, proxy, sleeps = _proxied(members, "T1", max_attempts=3)
    _sell(till, 2)
    pending = outbox.state(till).outbox
    proxy.add(Fault("/v1/push", "reset", times=3))
    with pytest.raises(SyncFailed) as failed:
        client.sync()
    assert failed.value.code == "unreachable"
    assert outbox.state(till).outbox == pending and len(sleeps) == 2
    client.sync()
    assert_exactly_once(members.ho, till)
    proxy.close()


def test_head_office_killed_mid_sync_then_restarted(store_url: str, tmp_path: Path) -> None:
    ho = HeadOffice(open_store(store_url), admin_token=ADMIN)
    ho.publish_program(PROGRAM)
    from sync import protocol as p

    ho.upsert_member("M0", p.MemberRequest())
    token = ho.register_till("T1")
    ho.store.close()
    server = ServerProcess(store_url, ADMIN)
    url = server.start()
    till = Till.open(tmp_path / "T1", must_exist=False)
    till.initialise("T1", PROGRAM, "program")
    killed: list[bool] = []

    def kill_once(progress: object) -> None:
        if not killed and outbox.state(till).last_acked_seq > 0:
            server.kill()  # SIGKILL while the next batch is on its way
            killed.append(True)

    client = SyncClient(till, url, token, batch_size=50, on_progress=kill_once,
                        sleep=lambda s: None, max_attempts=2)  # fmt: skip
    client.sync()
    for i in range(150):
        buy(till, "M0", 1000 + i)
    with pytest.raises(SyncFailed):
        client.sync()
    assert killed and outbox.state(till).outbox > 0
    restarted = ServerProcess(store_url, ADMIN, port=server.port)
    restarted.start()
    try:
        assert client.sync().outbox == 0
    finally:
        restarted.stop()
        client.close()
    ho = HeadOffice(open_store(store_url), admin_token=ADMIN)
    assert_exactly_once(ho, till)
    ho.store.close()
    till.close()


def test_till_killed_mid_sync_then_restarted(members: Shop) -> None:
    till, client = members.till("T1")
    _sell(till, 150)
    token = members.ho.register_till("T1", replace=True)
    data_dir = Path(till.db.path).parent
    client.close()
    till.close()
    members.opened.clear()
    script = textwrap.dedent(
        f"""
        from loyalty.till import Till
        from sync.client import SyncClient
        till = Till.open({str(data_dir)!r})
        SyncClient(till, {members.url!r}, {token!r}, batch_size=5).sync()
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    while members.ho.entry_count() == 0 and child.poll() is None:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    till = Till.open(data_dir)
    members.opened.append(till)
    assert outbox.state(till).outbox > 0, "the child finished before it was killed"
    again = SyncClient(till, members.url, token)
    members.opened.append(again)
    assert again.sync().outbox == 0
    assert_exactly_once(members.ho, till)
