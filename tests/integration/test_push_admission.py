"""However many tills push at once, a head office process holds a bounded number of pushes in
memory: a push waiting for its turn keeps only its gzip body (sync/headoffice/admission.py).
Real tills pushing over 127.0.0.1 to a real head office, on SQLite and PostgreSQL; the wait
is for a state, with a generous deadline, never a duration asserted."""

from __future__ import annotations

import threading
import time

from sync.client import SyncClient
from tests.sync_fixtures import Shop, assert_exactly_once, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]

TILLS = 8


def wait_until(check: object, what: str, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while not check():  # type: ignore[operator]
        if time.monotonic() > end:
            raise AssertionError(f"never: {what}")
        time.sleep(0.01)


def test_waiting_pushes_are_not_admitted_beyond_the_bound(shop: Shop) -> None:
    shop.member("M1")
    tills = []
    for i in range(TILLS):
        till, client = shop.till(f"T{i}")
        buy(till, "M1", 1000 + i)
        tills.append((till, client))
    admission = shop.ho.push_admission
    slots = shop.ho._push_slots
    held = [slots.acquire() for _ in range(admission.size // 2)]  # every push slot taken
    assert all(held)
    errors: list[BaseException] = []

    def push(client: SyncClient) -> None:
        try:
            client.push()
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(c,)) for _, c in tills]
    for t in threads:
        t.start()
    try:
        # Every push has arrived: as many admitted as the bound allows, the rest waiting.
        wait_until(lambda: admission.admitted + admission.waiting == TILLS, "all pushes arrived")
        assert admission.admitted == admission.size < TILLS
        assert admission.waiting == TILLS - admission.size
    finally:
        for _ in held:
            slots.release()
    for t in threads:
        t.join(60)
    assert not errors
    assert admission.peak == admission.size
    assert (admission.admitted, admission.waiting) == (0, 0)
    assert_exactly_once(shop.ho, *(till for till, _ in tills))
