"""Real ``till`` processes against a head office on 127.0.0.1: a till data dir registered
with head office, and ``till`` run as a subprocess of the venv's own entry point."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from sync.credentials import save_token
from tests.sync_fixtures import Shop


def till_exe() -> str:
    exe = shutil.which("till", path=str(Path(sys.executable).parent))
    assert exe is not None
    return exe


def run(folder: Path, url: str, *argv: str, **extra_env: str) -> tuple[int, Any, str]:
    """Exit code, the JSON it printed (None when nothing), and its stderr."""
    import subprocess

    env = {
        **os.environ,
        "TILL_DATA_DIR": str(folder),
        "TILL_HEADOFFICE": url,
        "TILL_LANGUAGE": "en",
        **extra_env,
    }
    env.pop("TILL_CONFIG", None)
    proc = subprocess.run([till_exe(), *argv], capture_output=True, text=True, timeout=120, env=env)
    out = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc.returncode, out, proc.stderr


def sell(folder: Path, url: str, n: int, member: str = "M1", total: str = "10.00") -> None:
    for _ in range(n):
        code, _, err = run(folder, url, "sale", "--member", member, "--total", total)
        assert code == 0, err


def data_dir(shop: Shop, terminal_id: str = "T1", member: str = "M1") -> tuple[Path, Path]:
    """A till set up with head office's program and members, its token saved, closed: the
    folder and its database, for ``till`` processes to use."""
    shop.member(member)
    till, client = shop.till(terminal_id)
    folder = Path(till.db.path).parent
    save_token(folder, shop.ho.register_till(terminal_id, replace=True))
    client.close()
    till.close()
    shop.opened.clear()
    return folder, Path(till.db.path)
