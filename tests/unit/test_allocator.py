"""Head office's allocator settings (sync/headoffice/allocator.py) return freed memory: a
process that freed 100 large blocks, each followed by a small live one, gives their memory
back with the settings and keeps it without them (glibc's default dynamic mmap threshold).
Real processes, RSS read from /proc; no timing."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")

CHILD = """
import json, sys
from pathlib import Path
from sync.headoffice.allocator import bound_allocator

def rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

applied = bound_allocator() if sys.argv[1] == "bound" else {}
block = b"x" * (1 << 20); del block  # a freed mmapped block: glibc raises its threshold past it
before = rss_mb()
big, small = [], []
for _ in range(100):
    big.append(b"x" * (1 << 20))  # a push body's size
    small.append(bytes(1000))  # a small live block after it (malloc's, not pymalloc's)
del big
print(json.dumps({"applied": applied, "kept_mb": rss_mb() - before}))
"""


def run_child(mode: str, **extra: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    env.update(extra)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True, env=env
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_freed_large_blocks_go_back_to_the_system_with_the_settings() -> None:
    bound = run_child("bound")
    assert bound["applied"] == {"MALLOC_MMAP_THRESHOLD_": 128 * 1024, "MALLOC_ARENA_MAX": 2}
    assert isinstance(bound["kept_mb"], int) and bound["kept_mb"] < 20
    # The same process without them keeps the freed blocks: what the settings are for.
    default = run_child("default")
    assert isinstance(default["kept_mb"], int) and default["kept_mb"] > 80


def test_an_operators_own_setting_wins() -> None:
    own = run_child("bound", MALLOC_ARENA_MAX="4")
    assert own["applied"] == {"MALLOC_MMAP_THRESHOLD_": 128 * 1024}
    assert run_child("bound", GLIBC_TUNABLES="glibc.malloc.arena_max=4")["applied"] == {}
