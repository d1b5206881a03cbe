"""glibc's malloc set for a long-running head office process (called once at start by
``serve``). Over a chain's night its processes grew to 600-800 MB RSS while Python's own heap
stayed at a few MB (bench/headoffice_memory.py, tracemalloc): the memory was glibc's, not ours.
Two of its defaults keep freed memory in the process:

- the dynamic mmap threshold: once a large block (a push body, its decompressed JSON, a
  psycopg result) that was mmapped is freed, glibc raises the threshold to its size, so later
  blocks of that size come from the heap, where a small live block after them keeps the
  freed space from ever going back to the system. A fixed threshold keeps them mmapped, and
  returned on free.
- one arena per thread up to 8 per core: Starlette's thread pool spreads pushes over many
  threads, each arena keeping its own high-water mark. Two arenas are enough for the two
  pushes a process stores at once (PUSH_CONCURRENCY).

An operator's own ``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_`` or ``GLIBC_TUNABLES`` wins.
Elsewhere than glibc (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import os
import platform
from collections.abc import Mapping

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
M_ARENA_MAX = -8
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value, now fixed
ARENA_MAX = 2


def bound_allocator(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """Apply the settings the environment does not already give; returns those applied."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    if platform.libc_ver()[0] != "glibc" or "GLIBC_TUNABLES" in env:
        return {}
    mallopt = ctypes.CDLL(None).mallopt
    applied: dict[str, int] = {}
    for name, param, value in (
        ("MALLOC_MMAP_THRESHOLD_", M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        ("MALLOC_ARENA_MAX", M_ARENA_MAX, ARENA_MAX),
    ):
        if name not in env and mallopt(param, value) == 1:
            applied[name] = value
    return applied
