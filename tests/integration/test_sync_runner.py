"""The background runner against a real head office: a debounced sync after sales, failure
reported as a code, a reconnect, and close of day waiting for an empty outbox."""

from __future__ import annotations

import threading
import time

from loyalty import outbox
from sync.runner import BackgroundSync, SyncStatus
from sync.testing import Fault, FaultProxy
from tests.sync_fixtures import Shop, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]


def settled(runner: BackgroundSync, timeout: float = 30.0) -> SyncStatus:
    deadline = time.monotonic() + timeout
    while runner.status.state == "syncing" and time.monotonic() < deadline:
        time.sleep(0.02)
    return runner.status


def test_background_sync_after_sales_failures_and_close_of_day(shop: Shop) -> None:
    shop.member("M1")
    port = int(shop.url.rsplit(":", 1)[1])
    proxy = FaultProxy("127.0.0.1", port)
    till, client = shop.till("T1", url=proxy.url, max_attempts=1)
    seen: list[SyncStatus] = []
    synced = threading.Event()

    def on_status(status: SyncStatus) -> None:
        seen.append(status)
        if status.state in ("synced", "failed"):
            synced.set()

    runner = BackgroundSync(client, debounce=0.05, heartbeat=3600, on_status=on_status)
    runner.start()
    try:
        for _ in range(3):
            buy(till, "M1")
            runner.sale_committed()
        assert synced.wait(30)
        # On a slow machine the three sales may start a second (debounced) sync: wait for the
        # runner to finish whatever it started.
        last = settled(runner)
        assert last.state == "synced" and last.reason == "sale"
        assert outbox.state(till).outbox == 0

        # Head office unreachable: the runner reports a code, the entries stay.
        synced.clear()
        proxy.add(Fault("/v1/push", "reset", times=1))
        buy(till, "M1")
        runner.sale_committed()
        assert synced.wait(30)
        assert (seen[-1].state, seen[-1].code) == ("failed", "unreachable")
        assert seen[-1].outbox == outbox.state(till).outbox > 0
        assert seen[-1].next_at is not None

        # Close of day: waits until the outbox is empty.
        buy(till, "M1")
        status = runner.close_of_day(timeout=30)
        assert (status.state, status.outbox) == ("synced", 0)
        assert status.clock_drift_ms is not None
    finally:
        runner.stop()
        proxy.close()
