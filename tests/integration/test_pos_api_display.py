"""What the POS does through the till API reaches the shopper display (the real feed and
its server, as ``till run`` starts them): the member it identified, then the sale's points,
in the member's language."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest

from loyalty.till import Till
from terminal import config as config_mod
from terminal.pos.serve import ApiServer
from terminal.pos.token import token_path
from terminal.shopper_feed import ShopperDisplaySettings, start_feed
from tests.pos_fixtures import make_data_dir


def test_the_pos_member_and_sale_are_shown_to_the_shopper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TILL_CONFIG", "TILL_LANGUAGE", "TILL_CASHIER", "TILL_PRINTER"):
        monkeypatch.delenv(name, raising=False)
    folder = make_data_dir(tmp_path / "data")
    cfg = config_mod.load(str(folder))
    till = Till.open(folder)
    settings = ShopperDisplaySettings(enabled=True, port=0, blank_after_s=30)
    feed = start_feed(settings, lambda: till.program, lambda: dt.datetime.now(dt.UTC))
    server = ApiServer(till, cfg, port=0, display=feed)
    url = server.start()
    token = token_path(folder).read_text(encoding="utf-8").strip()
    assert feed.server is not None
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
            r = http.post("/v1/members/identify", json={"code": "400000000002"})
            assert r.status_code == 200, r.text
            feed.flush()
            state = httpx.get(f"{feed.server.url}state").text
            assert "Eleni" in state
            body = {"pos_sale_id": "D-1", "member": "M000001", "currency": "EUR",
                    "total_minor": 4250}  # fmt: skip
            sold = http.post("/v1/sales", json=body)
            assert sold.status_code == 200, sold.text
            feed.flush()
            view = json.loads(httpx.get(f"{feed.server.url}state").text)
            assert view["screen"] == "done"
            shown = json.dumps(view, ensure_ascii=False)
            earned = sold.json()["loyalty"]["points_earned"]
            assert str(earned) in shown
            assert any("\u0370" <= ch <= "\u03ff" for ch in shown)  # Eleni reads Greek
            # A retry is not a second sale on the display either (nothing new is published).
            assert http.post("/v1/sales", json=body).json() == sold.json()
    finally:
        server.stop()
        feed.stop()
        till.close()
