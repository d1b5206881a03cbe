"""A till data dir on a real SQLite file with the sample program and members, and the till
API serving it on 127.0.0.1 (a real uvicorn on a free port), for the POS tests."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from loyalty.till import Till
from scanner.codes import mint_app_code
from scanner.keys import load_private_key
from terminal import config as config_mod
from terminal.pos.serve import ApiServer
from terminal.pos.token import token_path

ROOT = Path(__file__).resolve().parent.parent
KEYS = ROOT / "fixtures" / "keys"
TEST_KEY = load_private_key(KEYS / "test-2026.TEST-ONLY-private.pem")


def make_data_dir(folder: Path, extra_config: str = "") -> Path:
    till = Till.open(folder, must_exist=False)
    try:
        program = ROOT / "fixtures" / "program.toml"
        till.initialise("ATH01-T1", program.read_text(encoding="utf-8"), str(program))
        till.import_members(ROOT / "fixtures" / "members.csv")
    finally:
        till.close()
    (folder / "config.toml").write_text('language = "en"\n' + extra_config, encoding="utf-8")
    (folder / "keys").mkdir(exist_ok=True)
    shutil.copy(KEYS / "test-2026.pub", folder / "keys")  # app codes signed with the test key
    return folder


def app_code(member_id: str, nonce: int = 1) -> str:
    """A signed app code, valid now for five minutes."""
    now = dt.datetime.now(dt.UTC)
    return mint_app_code(TEST_KEY, "test-2026", member_id, now, 300, nonce.to_bytes(4, "big"))


@dataclass
class Api:
    url: str
    folder: Path
    till: Till
    http: httpx.Client

    def sales(self) -> int:
        row = self.till.db.one("SELECT count(*) AS n FROM sales WHERE kind = 'sale'")
        assert row is not None
        return int(row["n"])


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    for name in ("TILL_CONFIG", "TILL_LANGUAGE", "TILL_CASHIER", "TILL_PRINTER"):
        monkeypatch.delenv(name, raising=False)
    folder = make_data_dir(tmp_path / "data")
    cfg = config_mod.load(str(folder))
    till = Till.open(folder)
    server = ApiServer(till, cfg, port=0)
    url = server.start()
    token = token_path(folder).read_text(encoding="utf-8").strip()
    http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    try:
        yield Api(url, folder, till, http)
    finally:
        http.close()
        server.stop()
        till.close()
