"""The environment `./dev setup` makes on its own (the one `./dev demo` runs in, without the test
or lint groups that bring starlette and uvicorn in by another door) starts `till headoffice
serve`, the demo's head office: a fresh venv in a temporary folder, made by the real script."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_venv_dev_setup_makes_starts_the_demo_head_office() -> None:
    proc = subprocess.run(
        ["bash", str(ROOT / ".ci" / "check_setup")],
        cwd=ROOT, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "till headoffice serve answered 200" in proc.stdout, proc.stdout[-2000:]
