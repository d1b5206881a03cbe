"""Running `till` in-process the way a script would, and a till data dir set up by `till init`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from terminal.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run_till(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Exit code, the JSON it printed (None when nothing), and its stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def init_data_dir(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    **env: str,
) -> tuple[Path, Any]:
    """`till init` with the sample program and members in tmp_path/data, English messages."""
    monkeypatch.setenv("TILL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TILL_LANGUAGE", "en")
    monkeypatch.delenv("TILL_CONFIG", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = run_till(
        capsys, "init", "--terminal-id", "ATH01-T1",
        "--program", str(ROOT / "fixtures" / "program.toml"),
        "--members", str(ROOT / "fixtures" / "members.csv"),
    )  # fmt: skip
    assert code == 0, err
    return tmp_path / "data", out
