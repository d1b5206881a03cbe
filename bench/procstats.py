"""Resource use read from /proc: CPU seconds, peak RSS and proportional set size, for a
process or a PostgreSQL cluster (its postmaster and children), and how the whole machine's
CPU time was spent (busy, idle, waiting for I/O, stolen by the hypervisor). bench/chain.py's."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on


def cpu_seconds(pid: int, children: bool = False) -> float:
    f = _stat(pid)
    ticks = int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if children else 0)
    return ticks / TICK


def machine_ticks() -> list[int]:
    """/proc/stat's first line: user nice system idle iowait irq softirq steal ..."""
    return [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]


def machine_shares(before: list[int], after: list[int]) -> dict[str, float]:
    """Shares of all cores' time between two ``machine_ticks`` readings."""
    d = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(d) or 1
    user, nice, system, idle, iowait, irq, softirq, steal = d
    return {
        "busy": (user + nice + system + irq + softirq) / total,
        "idle": idle / total,
        "iowait": iowait / total,
        "steal": steal / total,
    }


def child_pids(parent: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int(_stat(int(entry))[1]) == parent:
                    out.append(int(entry))
    return out


def pss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class Postgres:
    """CPU and memory of a PostgreSQL cluster: the postmaster and its children."""

    def __init__(self, data_dir: Path) -> None:
        self.pid = int((data_dir / "postmaster.pid").read_text().split()[0])

    def cpu(self) -> float:
        total = cpu_seconds(self.pid, children=True)  # includes backends that have exited
        for child in child_pids(self.pid):
            with contextlib.suppress(OSError):
                total += cpu_seconds(child)
        return total

    def pss_kb(self) -> int:
        return pss_kb(self.pid) + sum(pss_kb(c) for c in child_pids(self.pid))


class Sampler(threading.Thread):
    """Peak PSS of PostgreSQL and head office, read every ``every`` seconds. Reading
    smaps_rollup makes the kernel walk each process's page tables: with 8 GB of shared
    buffers mapped by a dozen backends, one round cost about 0.15 CPU s, so twice a second
    took a third of a core from the night it measured. ``cpu_s``: what the sampling cost."""

    def __init__(self, pg: Postgres, servers: list[int], every: float = 10.0) -> None:
        super().__init__(daemon=True)
        self.pg, self.servers, self.every = pg, servers, every
        self.pg_peak_kb = 0
        self.server_peak_kb = 0
        self.cpu_s = 0.0
        self.stop_event = threading.Event()

    def run(self) -> None:
        self._sample()
        while not self.stop_event.wait(self.every):
            self._sample()
        self._sample()  # at the end too, where memory use is usually highest

    def _sample(self) -> None:
        start = time.thread_time()
        self.pg_peak_kb = max(self.pg_peak_kb, self.pg.pss_kb())
        self.server_peak_kb = max(self.server_peak_kb, sum(pss_kb(s) for s in self.servers))
        self.cpu_s += time.thread_time() - start
