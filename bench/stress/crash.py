"""Crash safety of the till: sales and syncs through real `till` processes killed with SIGKILL.

Each run starts one till process and kills it (or lets it finish):
- ``random``: at a random moment of a stream of `till sale --print` commands;
- ``at-print``: the moment the network printer (a real TCP server on 127.0.0.1) sees a
  connection, i.e. after the sale committed and while its receipt prints;
- ``after-print``: the moment the printer received the cut of a receipt, before the command
  could report success;
- ``sync``: at a random moment of `till sync --once` against head office (a child process).

A sale process is the real `till` command line (``terminal.cli.main``) running ``sale ...
--print`` again and again in one process, so that thousands of sales fit in a few minutes;
``--cold`` starts a new `till` process for every sale instead.

After every run: ``PRAGMA integrity_check`` is ok, ``seq`` has no gap and the hash chain holds,
every sale the command reported or whose receipt reached the printer is there exactly once with
all its entries, no half sale exists, and no receipt reached the printer twice. At the end a
final `till sync --once` and head office must hold exactly the till's entries.

    .venv/bin/python bench/stress/crash.py [--runs 60] [--sales-per-run 40] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    MEMBERS,
    ROOT,
    TILL,
    HeadOfficeProc,
    check_till,
    exactly_once,
    init_till,
    run_till,
    till_env,
)

from tests.printer_server import FakeNetworkPrinter  # noqa: E402

TERMINAL = "CRASH-T1"
RECEIPT = re.compile(rb"CRASH-T1-\d{6}")
CUT = b"\x1dV"
# Members whose receipts print in text mode, so the receipt number is readable in the bytes.
TEXT_MEMBERS = [m for m in MEMBERS if m in ("M000001", "M000002", "M000007", "M000008")]

CHILD = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from terminal.cli import main
    n, members = int(sys.argv[1]), sys.argv[2].split(",")
    for i in range(n):
        buf = io.StringIO()
        argv = ["sale", "--member", members[i % len(members)], "--total", f"{10 + i % 40}.50",
                "--print"]
        with contextlib.redirect_stdout(buf):
            code = main(argv)
        if code == 0:
            out = json.loads(buf.getvalue())
            print("OK", out["receipt_no"], len(out["entries"]), flush=True)
        else:
            print("ERR", code, flush=True)
    """
)


@dataclass
class Figures:
    runs: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    sales_checked: int = 0  # distinct sales reported or printed, looked for after every run
    checks: int = 0  # sale look-ups after runs, in all
    sales_in_till: int = 0
    reported: int = 0
    printed: int = 0
    lost: int = 0
    duplicated: int = 0
    printed_twice: int = 0
    problems: list[str] = field(default_factory=list)
    headoffice: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def ok(self) -> bool:
        ho = self.headoffice
        return (
            not self.problems
            and self.lost == 0
            and self.duplicated == 0
            and self.printed_twice == 0
            and ho.get("lost", 1) == 0
            and ho.get("duplicated", 1) == 0
            and ho.get("unknown", 1) == 0
            and ho.get("seq_gaps", 1) == 0
            and ho.get("unacked", 1) == 0
        )


def _printed(printer: FakeNetworkPrinter) -> Counter[str]:
    """Receipt numbers by how many printer connections carried them."""
    seen: Counter[str] = Counter()
    for job in printer.jobs:
        for no in set(RECEIPT.findall(job)):
            seen[no.decode()] += 1
    return seen


def _kill_when(proc: subprocess.Popen[str], deadline: float, trigger: object) -> bool:
    """Poll until ``trigger()`` is true (then SIGKILL) or the process ends. True if killed."""
    while proc.poll() is None:
        if time.monotonic() >= deadline or (callable(trigger) and trigger()):
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            return True
        time.sleep(0.001)
    return False


def _sale_process(
    folder: Path, printer_url: str, n: int, cold: bool, rng: random.Random
) -> subprocess.Popen[str]:
    env = till_env(folder, printer_url)
    members = ",".join(TEXT_MEMBERS)
    if cold:
        member = rng.choice(TEXT_MEMBERS)
        cmd = [*TILL, "sale", "--member", member, "--total", "12.50", "--print"]
    else:
        cmd = [sys.executable, "-c", CHILD, str(n), members]
    return subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )


def _reported(out: str, cold: bool) -> list[tuple[str, int]]:
    """(receipt_no, entries) of each sale the till process reported as done."""
    if cold:
        try:
            data = json.loads(out)
        except ValueError:
            return []  # killed before it printed its whole answer
        return [(data["receipt_no"], len(data["entries"]))]
    done = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "OK":
            done.append((parts[1], int(parts[2])))
    return done


def run(
    runs: int = 60,
    sales_per_run: int = 40,
    seed: int = 1,
    cold_every: int = 10,
    sync_share: float = 0.2,
    workdir: Path | None = None,
    min_kills: int = 0,
) -> Figures:
    """``runs`` till processes; with ``min_kills``, more runs (up to three times as many) until
    that many were killed: on a loaded machine a process may finish before its kill moment."""
    rng = random.Random(seed)
    fig = Figures()
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="stress-crash-", dir=workdir))
    ho = HeadOfficeProc(tmp / "ho")
    printer = FakeNetworkPrinter()
    folder = tmp / TERMINAL
    try:
        init_till(folder, TERMINAL, ho.url)
        # How long one sale takes here, for random kill moments.
        t0 = time.monotonic()
        proc = _sale_process(folder, printer.url, 3, False, rng)
        out, _ = proc.communicate(timeout=120)
        per_sale = (time.monotonic() - t0) / 3
        all_done = {no: n for no, n in _reported(out, False)}
        t0 = time.monotonic()
        proc = _sale_process(folder, printer.url, 1, True, rng)
        out, _ = proc.communicate(timeout=120)
        cold_time = time.monotonic() - t0
        all_done.update(_reported(out, True))
        for i in range(runs * 3):
            if i >= runs and sum(fig.kills.values()) >= min_kills:
                break
            fig.runs += 1
            roll = rng.random()
            before_conns = len(printer.connections)
            if roll < sync_share:
                kind = "sync"
                proc = subprocess.Popen(
                    [*TILL, "sync", "--once"],
                    env=till_env(folder),
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
                deadline = time.monotonic() + rng.uniform(0.05, 2.0)
                trigger = None
            else:
                cold = cold_every > 0 and i % cold_every == 0
                proc = _sale_process(folder, printer.url, sales_per_run, cold, rng)
                kind = rng.choice(["random", "at-print", "after-print"])
                span = cold_time * 1.2 if cold else per_sale * sales_per_run + 0.5
                deadline = time.monotonic() + (
                    rng.uniform(0.05, span) if kind == "random" else span + 5
                )
                # Which receipt to hit: the k-th connection of this run.
                k = rng.randint(1, 1 if cold else max(1, sales_per_run - 1))

                def trigger(kind: str = kind, k: int = k, base: int = before_conns) -> bool:
                    conns = printer.connections[base:]
                    data = [c for c in conns if c.data]
                    if kind == "at-print":
                        return len(data) >= k
                    if kind == "after-print":
                        return len(data) >= k and CUT in bytes(data[k - 1].data)
                    return False

                kind = kind + ("/cold" if cold else "")
            killed = _kill_when(proc, deadline, trigger)
            out = proc.stdout.read() if proc.stdout else ""
            if proc.stdout:
                proc.stdout.close()
            if killed:
                fig.kills[kind] += 1
            if not kind.startswith("sync"):
                for no, n in _reported(out, kind.endswith("/cold")):
                    all_done[no] = n
            state = check_till(folder, TERMINAL)
            fig.problems += [f"run {i}: {p}" for p in state.problems]
            printed = _printed(printer)
            wanted = set(all_done) | set(printed)
            fig.checks += len(wanted)
            fig.sales_checked = len(wanted)
            for no in wanted:
                count = state.receipts.get(no, 0)
                if count == 0:
                    fig.lost += 1
                    fig.problems.append(f"run {i}: {no} lost")
                elif count > 1:
                    fig.duplicated += 1
                elif no in all_done and state.entries.get(no) != all_done[no]:
                    fig.problems.append(f"run {i}: {no} has {state.entries.get(no)} entries")
            twice = [no for no, c in printed.items() if c > 1]
            if twice:
                fig.problems.append(f"run {i}: printed twice {twice[:3]}")
            fig.printed_twice = len(twice)
            if len(fig.problems) > 20:
                break
        # The final sync, then head office and the till must agree entry for entry.
        for _ in range(5):
            code, report, err = run_till(folder, "sync", "--once")
            if code == 0:
                break
            time.sleep(0.5)
        state = check_till(folder, TERMINAL)
        fig.problems += state.problems
        fig.sales_in_till = len(state.receipts)
        fig.reported = len(all_done)
        fig.printed = len(_printed(printer))
        ho.stop()
        fig.headoffice = exactly_once(ho.entries(), {TERMINAL: state.entry_ids})
        fig.headoffice["entries"] = len(ho.entries())
        fig.headoffice["unacked"] = state.unacked
    finally:
        ho.stop()
        printer.close()
        shutil.rmtree(tmp, ignore_errors=True)
    fig.seconds = time.monotonic() - started
    return fig


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--runs", type=int, default=60, help="till processes started (and mostly killed)"
    )
    ap.add_argument("--sales-per-run", type=int, default=40, help="sales one process attempts")
    ap.add_argument(
        "--cold-every", type=int, default=10, help="every Nth run is one cold `till sale`"
    )
    ap.add_argument("--sync-share", type=float, default=0.2, help="share of runs that are syncs")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    fig = run(a.runs, a.sales_per_run, a.seed, a.cold_every, a.sync_share)
    print(f"runs                 {fig.runs}")
    print(
        f"kills                {sum(fig.kills.values())}  "
        + "  ".join(f"{k}={v}" for k, v in sorted(fig.kills.items()))
    )
    print(f"sales in the till    {fig.sales_in_till}")
    print(f"  reported by till   {fig.reported}")
    print(f"  receipts printed   {fig.printed}")
    print(f"sales checked        {fig.sales_checked}  (reported or printed; {fig.checks} look-ups)")
    print(f"lost                 {fig.lost}")
    print(f"duplicated           {fig.duplicated}")
    print(f"printed twice        {fig.printed_twice}")
    ho = fig.headoffice
    print(
        f"head office entries  {ho.get('entries')}  lost={ho.get('lost')} "
        f"duplicated={ho.get('duplicated')} unknown={ho.get('unknown')} "
        f"seq_gaps={ho.get('seq_gaps')} till_unacked={ho.get('unacked')}"
    )
    print(f"problems             {len(fig.problems)}")
    for p in fig.problems[:10]:
        print(f"  {p}")
    print(f"seconds              {fig.seconds:.1f}")
    return 0 if fig.ok() else 1


if __name__ == "__main__":
    raise SystemExit(main())
