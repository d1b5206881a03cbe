"""A POS's sale through a real ``till api`` process reaches a real head office through
``till sync`` exactly once, however often the POS retried it (one after another, at once, and
after the sync), and its refund by the POS's sale id follows it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from loyalty.till import Till
from terminal.pos.token import token_path
from tests.sync_fixtures import Shop, assert_exactly_once, postgres, shop, store_url
from tests.till_processes import data_dir, run, till_exe

__all__ = ["postgres", "shop", "store_url"]

SALE = {
    "pos_sale_id": "POS-7/000123",
    "member": "M1",
    "currency": "EUR",
    "total_minor": 3000,
    "lines": [{"sku": "A", "amount_minor": 1000}, {"sku": "B", "amount_minor": 2000}],
}


@pytest.fixture
def till_api(shop: Shop) -> Iterator[tuple[Path, httpx.Client]]:
    folder, _db = data_dir(shop)
    env = {**os.environ, "TILL_DATA_DIR": str(folder), "TILL_HEADOFFICE": shop.url,
           "TILL_LANGUAGE": "en"}  # fmt: skip
    env.pop("TILL_CONFIG", None)
    proc = subprocess.Popen(
        [till_exe(), "api", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        token = token_path(folder).read_text(encoding="utf-8").strip()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=ready["url"], headers=headers, timeout=30) as http:
            yield folder, http
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_retried_pos_sale_reaches_head_office_once(
    shop: Shop, till_api: tuple[Path, httpx.Client]
) -> None:
    folder, http = till_api
    first = http.post("/v1/sales", json=SALE)
    assert first.status_code == 200, first.text
    with ThreadPoolExecutor(4) as pool:
        retries = list(pool.map(lambda _: http.post("/v1/sales", json=SALE), range(8)))
    assert all(r.json() == first.json() for r in retries)
    code, _, err = run(folder, shop.url, "sync", "--once")
    assert code == 0, err
    # After the sync the POS retries again (it never saw an answer): still the first one.
    assert http.post("/v1/sales", json=SALE).json() == first.json()
    refund = {"pos_refund_id": "POS-7/R1", "pos_sale_id": SALE["pos_sale_id"],
              "lines": [{"sku": "B", "amount_minor": 2000}]}  # fmt: skip
    refunded = http.post("/v1/refunds", json=refund)
    assert refunded.status_code == 200, refunded.text
    assert http.post("/v1/refunds", json=refund).json() == refunded.json()
    code, _, err = run(folder, shop.url, "sync", "--once")
    assert code == 0, err
    till = Till.open(folder)
    try:
        assert till.outbox_size() == 0
        assert_exactly_once(shop.ho, till)
        with till.db.read() as conn:
            kinds = [r[0] for r in conn.execute("SELECT kind FROM sales ORDER BY receipt_no")]
        assert kinds == ["sale", "refund"]
    finally:
        till.close()
    receipt = first.json()["receipt_no"]
    with shop.ho.store.transaction() as tx:
        rows = tx.all("SELECT points FROM entries WHERE receipt_no = ?", (receipt,))
    assert sum(int(r[0]) for r in rows) == first.json()["loyalty"]["points_earned"]
