"""The till loads sync's client without head office's server or any database driver."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_SIDE = {"starlette", "uvicorn", "psycopg", "schemathesis", "sync.headoffice"}


@pytest.mark.parametrize("module", ["sync.protocol", "sync.client", "sync.runner"])
def test_till_side_of_sync_stays_light(module: str) -> None:
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    loaded = set(json.loads(out.stdout))
    heavy = {m for m in loaded if m.split(".")[0] in SERVER_SIDE or m.startswith("sync.headoffice")}
    assert not heavy, f"{module} loaded {sorted(heavy)}"
