"""``till sync --once`` against a real head office, its refusals, and ``till headoffice serve``
as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from sync.credentials import save_token
from terminal.cli import main
from terminal.commands.sync import KNOWN
from terminal.i18n import catalogue_keys
from tests.sync_fixtures import Shop, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]
ROOT = Path(__file__).resolve().parents[2]


def test_sync_once_prints_a_json_summary(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shop.member("M1")
    till, client = shop.till("T1")
    buy(till, "M1")
    folder = Path(till.db.path).parent
    save_token(folder, shop.ho.register_till("T1", replace=True))
    client.close()
    till.close()
    shop.opened.clear()
    monkeypatch.setenv("TILL_HEADOFFICE", shop.url)
    assert main(["--data-dir", str(folder), "sync", "--once"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["state"] == "synced" and summary["outbox"] == 0 and summary["pushed"] >= 1
    assert (folder / "headoffice.token").stat().st_mode & 0o777 == 0o600


def test_sync_refusals_are_one_translated_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TILL_HEADOFFICE", raising=False)
    monkeypatch.setenv("TILL_LANGUAGE", "el")
    assert main(["--data-dir", str(tmp_path), "sync", "--once"]) == 2
    assert "TILL_HEADOFFICE" in capsys.readouterr().err
    monkeypatch.setenv("TILL_HEADOFFICE", "http://127.0.0.1:9")
    assert main(["--data-dir", str(tmp_path), "sync", "--once"]) == 2
    assert "till init" in capsys.readouterr().err


def test_every_known_sync_failure_has_a_message() -> None:
    english = catalogue_keys("en")
    assert all(f"sync.error.{code}" in english for code in KNOWN)


def test_headoffice_serve_runs_a_real_server(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import argparse, sys
        from terminal.commands.headoffice_serve import register_serve
        parser = argparse.ArgumentParser()
        parser.add_argument("--data-dir")
        register_serve(
            parser.add_subparsers(dest="command"),
            mint_code=lambda member_id: "CODE." + member_id,
            public_keys=[("k1", bytes(range(32)))],
        )
        args = parser.parse_args(sys.argv[1:])
        args.func(args)
        """
    )
    program = ROOT / "fixtures" / "program.toml"
    cmd = [sys.executable, "-c", script, "--data-dir", str(tmp_path), "serve", "--port", "0",
           "--program", str(program)]  # fmt: skip
    child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        ready = json.loads(child.stdout.readline())
        assert ready["db"].endswith("headoffice.sqlite") and ready["admin_token"]
        assert httpx.get(f"{ready['url']}/v1/health").json()["status"] == "ok"
        admin = {"Authorization": f"Bearer {ready['admin_token']}"}
        made = httpx.post(f"{ready['url']}/v1/tills", json={"terminal_id": "T9"}, headers=admin)
        assert made.status_code == 201 and made.json()["token"].startswith("T9.")
        url = ready["url"]
        assert httpx.put(f"{url}/v1/members/M1", json={}, headers=admin).status_code == 200
        code = httpx.post(f"{url}/v1/members/M1/app-code", headers=admin).json()["code"]
        assert code == "CODE.M1"
        till = {"Authorization": f"Bearer {made.json()['token']}"}
        keys = httpx.get(f"{url}/v1/changes", headers=till).json()["public_keys"]
        assert [k["key_id"] for k in keys] == ["k1"]
    finally:
        child.terminate()
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
