"""The member-code signing key and a config file holding secrets are private like the
databases: a file open to others is made 0600 when `till` starts with it, and one that cannot
be made private (here: marked immutable, so not even its owner may chmod it) is refused with
one line. Real `till` processes on real files."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from terminal.auth import hash_pin

ROOT = Path(__file__).resolve().parents[2]
TILL = str(Path(sys.executable).with_name("till"))


def run(data: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "TILL_LANGUAGE": "en", "HOME": str(data.parent)}
    return subprocess.run(
        [TILL, "--data-dir", str(data), *argv],
        capture_output=True, text=True, timeout=60, env={**base, **env},
    )  # fmt: skip


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    proc = run(
        data, "init", "--terminal-id", "T1",
        "--program", str(ROOT / "fixtures" / "program.toml"),
        "--members", str(ROOT / "fixtures" / "members.csv"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return data


def _key_file(folder: Path) -> Path:
    path = folder / "k2026.private.pem"
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    os.chmod(path, 0o644)
    return path


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    """Files to mark immutable (``chattr +i``), unmarked afterwards; skips where the file
    system or the user cannot mark them."""
    if shutil.which("chattr") is None:
        pytest.skip("no chattr here")
    marked: list[Path] = []
    yield marked
    for path in marked:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def _freeze(marked: list[Path], path: Path) -> None:
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("this file system or user cannot mark a file immutable")
    marked.append(path)
    try:
        os.chmod(path, 0o600)
    except PermissionError:
        return
    pytest.skip("an immutable file's mode can still be changed here")


def test_a_signing_key_open_to_others_is_made_private(data: Path, tmp_path: Path) -> None:
    key = _key_file(tmp_path)
    proc = run(data, "headoffice", "token", "M000001", "--key", str(key))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["key_id"] == "k2026" and mode(key) == 0o600

    os.chmod(key, 0o640)
    serve = subprocess.Popen(
        [TILL, "--data-dir", str(data), "headoffice", "serve", "--port", "0",
         "--db", str(tmp_path / "ho.sqlite")],
        stdout=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TILL_LANGUAGE": "en",
             "TILL_HEADOFFICE_SIGNING_KEY": str(key), "TILL_HEADOFFICE_ADMIN_TOKEN": "adm"},
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        assert json.loads(serve.stdout.readline())["url"].startswith("http://127.0.0.1:")
        assert mode(key) == 0o600
    finally:
        serve.terminate()
        serve.wait(30)
        if serve.stdout is not None:
            serve.stdout.close()


def test_a_missing_signing_key_troubles_only_the_server(data: Path, tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.pem")
    proc = run(data, "balance", "M000001", TILL_HEADOFFICE_SIGNING_KEY=missing)
    assert proc.returncode == 0, proc.stderr  # the key is read by `serve`, not every command
    proc = run(data, "headoffice", "serve", "--port", "0", TILL_HEADOFFICE_SIGNING_KEY=missing)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "nowhere.pem" in proc.stderr


def test_a_signing_key_that_cannot_be_made_private_is_refused(
    data: Path, tmp_path: Path, immutable: list[Path]
) -> None:
    key = _key_file(tmp_path)
    _freeze(immutable, key)
    proc = run(data, "headoffice", "token", "M000001", "--key", str(key))
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    assert f"{key} is open to other users (mode 644) and cannot be made private" in proc.stderr
    assert proc.stderr.count("\n") == 1


def _config(folder: Path, text: str, name: str = "till.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o644)
    return path


def test_a_config_file_with_secrets_is_made_private(data: Path, tmp_path: Path) -> None:
    pins = _config(
        tmp_path,
        f'[cashiers.ana]\nname = "Ana"\nmanager = true\npin_hash = "{hash_pin("4711")}"\n',
    )
    url = _config(tmp_path, 'headoffice = "https://till:pw@ho.example/"\n', "url.toml")
    plain = _config(tmp_path, 'language = "el"\nshop_name = "Olive"\n', "plain.toml")
    for path in (pins, url, plain):
        proc = run(data, "--config", str(path), "balance", "M000001")
        assert proc.returncode == 0, proc.stderr
    assert (mode(pins), mode(url)) == (0o600, 0o600)
    assert mode(plain) == 0o644  # nothing secret in it: shared settings may stay readable
    inside = _config(data, f'[cashiers.bo]\npin_hash = "{hash_pin("1234")}"\n', "config.toml")
    proc = run(data, "balance", "M000001")
    assert proc.returncode == 0 and mode(inside) == 0o600, proc.stderr


def test_a_config_file_with_secrets_that_cannot_be_made_private_is_refused(
    data: Path, tmp_path: Path, immutable: list[Path]
) -> None:
    pins = _config(tmp_path, f'[cashiers.ana]\npin_hash = "{hash_pin("4711")}"\n')
    _freeze(immutable, pins)
    proc = run(data, "--config", str(pins), "balance", "M000001")
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    assert f"{pins} is open to other users (mode 644) and cannot be made private" in proc.stderr
    assert proc.stderr.count("\n") == 1
