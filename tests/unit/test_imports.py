"""The domain stays importable without the UI, network or device libraries.

Each module is imported in a fresh interpreter, and the test checks which libraries that pulled in:
a stray `import textual` in loyalty/ would make every head-office job and test load the UI.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = {
    "loyalty": {
        "scanner",
        "printer",
        "sync",
        "terminal",
        "textual",
        "rich",
        "httpx",
        "escpos",
        "cv2",
        "pyzbar",
    },
    "scanner": {"loyalty", "printer", "sync", "terminal", "textual", "httpx", "escpos"},
    "printer": {"loyalty", "scanner", "sync", "terminal", "textual", "httpx", "cv2", "pyzbar"},
    "sync": {"scanner", "printer", "terminal", "textual", "escpos", "cv2", "pyzbar"},
    "display": {"loyalty", "scanner", "printer", "sync", "terminal", "textual", "httpx", "cv2"},
}


def _modules(package: str) -> list[str]:
    names = [package]
    for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
        names.append(info.name)
    return names


CASES = [(pkg, mod) for pkg in FORBIDDEN for mod in _modules(pkg)]


@pytest.mark.parametrize(("package", "module"), CASES, ids=[m for _, m in CASES])
def test_module_does_not_load_forbidden_packages(package: str, module: str) -> None:
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    loaded = set(json.loads(out.stdout))
    assert not (loaded & FORBIDDEN[package]), (
        f"{module} loaded {sorted(loaded & FORBIDDEN[package])}"
    )
