"""Network and head-office faults: several tills push through a fault-injecting proxy.

Head office runs as a child process on SQLite; a proxy on 127.0.0.1 sits between it and every
till and, while the tills sell and sync, keeps breaking requests: answers dropped after head
office committed, connection resets, stalls longer than the till's read timeout, answers cut
in half, bursts of 500/502/503 and 429 with Retry-After, and head office killed (SIGKILL) and
restarted while batches are in flight. Each till sells and syncs in its own thread with small
batches so that many requests cross the proxy.

At the end the faults stop, every till syncs once more, and head office must hold every entry
exactly once (gap-free seq per till) and every till must show head office's balances.

    .venv/bin/python bench/stress/faults.py [--tills 4] [--seconds 60] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    MEMBERS,
    PROGRAM_FILE,
    HeadOfficeProc,
    exactly_once,
)

from loyalty.rules import BasketLine  # noqa: E402
from loyalty.sales import SaleRequest, sale  # noqa: E402
from loyalty.till import Till  # noqa: E402
from sync.client import Progress, SyncClient, SyncFailed, Timeouts  # noqa: E402
from sync.testing import Fault, FaultProxy, http_response  # noqa: E402

PUSH, CHANGES = "/v1/push", "/v1/changes"


@dataclass
class Figures:
    tills: int = 0
    seconds: float = 0.0
    entries_sent: int = 0  # entries the tills made (each must reach head office once)
    requests_faulted: Counter[str] = field(default_factory=Counter)
    restarts: int = 0
    retries: int = 0
    syncs: int = 0
    syncs_failed: Counter[str] = field(default_factory=Counter)
    duplicates_refused: int = 0  # entries head office already held and did not store again
    batches_replayed: int = 0  # pushes head office received again (same Idempotency-Key)
    headoffice_entries: int = 0
    lost: int = 0
    duplicated: int = 0
    unknown: int = 0
    seq_gaps: int = 0
    balance_mismatches: int = 0
    unacked: int = 0

    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated == 0
            and self.unknown == 0
            and self.seq_gaps == 0
            and self.balance_mismatches == 0
            and self.unacked == 0
            and self.headoffice_entries == self.entries_sent
        )


def _faults(rng: random.Random) -> Fault:
    kind = rng.choice(["drop", "reset", "stall", "truncate", "5xx", "429", "pull"])
    if kind == "5xx":
        status = rng.choice([500, 502, 503])
        raw = http_response(status, "Oops", {"Content-Type": "text/plain"}, b"boom")
        return Fault(PUSH, "respond", times=rng.randint(2, 5), raw=raw)
    if kind == "429":
        raw = http_response(429, "Too Many Requests", {"Retry-After": "1"}, b"")
        return Fault(PUSH, "respond", times=1, raw=raw)
    if kind == "stall":
        return Fault(PUSH, "stall", seconds=1.5)
    if kind == "pull":
        return Fault(CHANGES, rng.choice(["drop", "reset", "truncate"]))
    return Fault(PUSH, kind, times=rng.randint(1, 3))


class TillWorker(threading.Thread):
    lock = threading.Lock()  # the shared figures

    def __init__(
        self,
        folder: Path,
        terminal_id: str,
        url: str,
        token: str,
        fig: Figures,
        stop: threading.Event,
        seed: int,
    ) -> None:
        super().__init__(daemon=True)
        self.folder, self.terminal_id, self.url, self.token = folder, terminal_id, url, token
        self.fig, self.stop, self.rng = fig, stop, random.Random(seed)
        self.made = 0
        self.error: BaseException | None = None

    def _progress(self, progress: Progress) -> None:
        if progress.phase == "retry":
            with self.lock:
                self.fig.retries += 1

    def client(self, till: Till) -> SyncClient:
        return SyncClient(
            till,
            self.url,
            self.token,
            batch_size=25,
            timeouts=Timeouts(connect=2, read=1.0),
            max_attempts=5,
            backoff_base=0.05,
            backoff_cap=0.5,
            retry_after_cap=1.0,
            on_progress=self._progress,
        )

    def sync_once(self, client: SyncClient) -> bool:
        try:
            client.sync()
            ok = True
        except SyncFailed as exc:
            with self.lock:
                self.fig.syncs_failed[exc.code] += 1
            ok = False
        with self.lock:
            self.fig.syncs += 1
            self.fig.duplicates_refused += client._c.report.duplicates
        return ok

    def run(self) -> None:
        try:
            till = Till.open(self.folder, must_exist=False)
            till.initialise(self.terminal_id, PROGRAM_FILE.read_text("utf-8"), "program.toml")
            with self.client(till) as client:
                while not self.sync_once(client) and not self.stop.is_set():
                    time.sleep(0.2)  # the first pull brings the members
                while not self.stop.is_set():
                    for _ in range(self.rng.randint(5, 60)):
                        member = self.rng.choice(MEMBERS)
                        line = BasketLine("SKU-1", "grocery", self.rng.randint(100, 9000))
                        r = sale(till, SaleRequest(member, "anna", (line,)))
                        self.made += len(r.entries)
                    self.sync_once(client)
            till.close()
        except BaseException as exc:  # noqa: BLE001
            self.error = exc


def run(
    tills: int = 4,
    seconds: float = 60.0,
    seed: int = 1,
    restarts: int = 3,
    workdir: Path | None = None,
) -> Figures:
    rng = random.Random(seed)
    fig = Figures(tills=tills)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="stress-faults-", dir=workdir))
    ho = HeadOfficeProc(tmp / "ho")
    proxy = FaultProxy("127.0.0.1", ho.port)
    stop = threading.Event()
    workers = [
        TillWorker(
            tmp / f"F-T{i}", f"F-T{i}", proxy.url, ho.register(f"F-T{i}"), fig, stop, seed * 100 + i
        )
        for i in range(1, tills + 1)
    ]
    try:
        for w in workers:
            w.start()
        restart_at = sorted(rng.uniform(0.15, 0.85) * seconds for _ in range(restarts))
        end = time.monotonic() + seconds
        while time.monotonic() < end and all(w.error is None for w in workers):
            if restart_at and time.monotonic() - started >= restart_at[0]:
                restart_at.pop(0)
                ho.restart()  # SIGKILL mid-batch, then the same file and port
                fig.restarts += 1
            proxy.add(_faults(rng))
            time.sleep(rng.uniform(0.1, 0.6))
        stop.set()
        for w in workers:
            w.join(120)
        with proxy.lock:
            proxy.faults.clear()
        errors = [w.error for w in workers if w.error is not None]
        if errors:
            raise RuntimeError(f"a till worker failed: {errors[0]!r}") from errors[0]
        fig.batches_replayed = proxy.replayed
        fig.requests_faulted = Counter(a.split()[0] + " " + a.split()[1] for a in proxy.applied)
        # Faults off: every till syncs until its outbox is empty, then compare.
        ledgers: dict[str, list[str]] = {}
        for w in workers:
            till = Till.open(w.folder)
            with w.client(till) as client:
                for _ in range(5):
                    if w.sync_once(client):
                        break
            with till.db.read() as conn:
                ledgers[w.terminal_id] = [
                    r[0] for r in conn.execute("SELECT entry_id FROM ledger ORDER BY seq")
                ]
                fig.unacked += conn.execute(
                    "SELECT COUNT(*) FROM ledger WHERE acked_at IS NULL"
                ).fetchone()[0]
            fig.entries_sent += w.made
            till.close()
        for m in MEMBERS:
            hq = ho.member(m)
            want = (hq["balance"], sum(p for p, _ in hq["pending"]), hq["tier_progress"])
            for w in workers:
                till = Till.open(w.folder)
                with till.db.read() as conn:
                    row = conn.execute(
                        "SELECT balance, pending_json, tier_progress FROM members "
                        "WHERE member_id = ?",
                        (m,),
                    ).fetchone()
                till.close()
                got = (row[0], sum(p for p, _ in json.loads(row[1])), row[2]) if row else None
                if got != want:
                    fig.balance_mismatches += 1
        ho.stop()
        entries = ho.entries()
        fig.headoffice_entries = len(entries)
        found = exactly_once(entries, ledgers)
        fig.lost, fig.duplicated = found["lost"], found["duplicated"]
        fig.unknown, fig.seq_gaps = found["unknown"], found["seq_gaps"]
    finally:
        stop.set()
        proxy.close()
        ho.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    fig.seconds = time.monotonic() - started
    return fig


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tills", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=60.0, help="how long the tills push")
    ap.add_argument("--restarts", type=int, default=3, help="head office SIGKILLs + restarts")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    fig = run(a.tills, a.seconds, a.seed, a.restarts)
    print(f"tills                  {fig.tills}")
    print(f"entries sent           {fig.entries_sent}")
    print(
        f"requests faulted       {sum(fig.requests_faulted.values())}  "
        + "  ".join(f"{k}={v}" for k, v in sorted(fig.requests_faulted.items()))
    )
    print(f"head office restarts   {fig.restarts}")
    print(
        f"syncs                  {fig.syncs}  failed={sum(fig.syncs_failed.values())} "
        + " ".join(f"{k}={v}" for k, v in sorted(fig.syncs_failed.items()))
    )
    print(f"retries                {fig.retries}")
    print(
        f"duplicates refused     {fig.duplicates_refused} entries answered 'duplicate', "
        f"{fig.batches_replayed} batches replayed to head office and not stored again"
    )
    print(f"head office entries    {fig.headoffice_entries}")
    print(f"lost                   {fig.lost}")
    print(f"duplicated             {fig.duplicated}  unknown={fig.unknown} seq_gaps={fig.seq_gaps}")
    print(f"balance mismatches     {fig.balance_mismatches}  (members x tills)")
    print(f"till outbox left       {fig.unacked}")
    print(f"seconds                {fig.seconds:.1f}")
    return 0 if fig.ok() else 1


if __name__ == "__main__":
    raise SystemExit(main())
