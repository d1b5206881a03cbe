"""Sale commit latency and balance look-up time, beside raw sqlite3 in the same run.

    .venv/bin/python bench/ledger.py [--sales 2000] [--members 1000000] [--entries 10000000]

1. Sale commit (WAL, synchronous=FULL, BEGIN IMMEDIATE): `loyalty.sales.sale()` for a member with
   a reward, against raw sqlite3 doing the same writes (same schema, same rows: the sale row, the
   ledger rows with seq and hash, the receipt counter) with no Python domain logic. Target: our
   p99 within 1.5x of the raw p99.
2. Balance look-up with 1 million members and 10 million entries (most acknowledged, as on a
   till that syncs nightly): `Till.balance()` against the raw primary-key + partial-index queries.
   Target: under 1 ms. The big file is built once with raw inserts (a few minutes) and kept in
   bench/out/ for the next run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loyalty import sales  # noqa: E402
from loyalty.db import to_text  # noqa: E402
from loyalty.ledger import new_entry_id  # noqa: E402
from loyalty.members import MemberSnapshot  # noqa: E402
from loyalty.policy import Authorisation  # noqa: E402
from loyalty.rules import BasketLine  # noqa: E402
from loyalty.till import Till  # noqa: E402

PROGRAM = ROOT / "fixtures" / "program.toml"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def new_till(folder: Path, members: int = 100) -> Till:
    till = Till.open(folder, must_exist=False)
    now = dt.datetime.now(dt.UTC)
    till.initialise("BENCH-T1", PROGRAM.read_text(encoding="utf-8"), str(PROGRAM), now)
    till.apply_snapshots(
        [
            MemberSnapshot(f"M{i:07d}", to_text(now), balance=10**9, has_purchased=True)
            for i in range(members)
        ],
        now,
    )
    return till


def bench_sales(n: int, folder: Path) -> dict[str, list[float]]:
    """Ours and raw alternate sale by sale, each on its own file, so disk and CPU noise from
    the rest of the machine falls on both alike."""
    till = new_till(folder / "ours")
    lines = (BasketLine("OIL", "pantry", 2000), BasketLine("TOM", "fresh", 2500))
    raw_till = new_till(folder / "raw")
    raw_till.close()
    conn = sqlite3.connect(folder / "raw" / "till.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    ours: list[float] = []
    raw: list[float] = []
    prev = "0" * 64
    for i in range(n):
        member = f"M{i % 100:07d}"
        # Authorised online, so the till's offline budget does not end the run early.
        hold = Authorisation(f"H{i}", member, 200)
        req = sales.SaleRequest(member, "bench", lines, reward_id="food-bank", authorisation=hold)
        t0 = time.perf_counter()
        sales.sale(till, req)
        ours.append(time.perf_counter() - t0)

        # Raw: the same file layout, pragmas and rows, straight through sqlite3.
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM ledger").fetchone()[0]
        receipt = f"BENCH-T1-{i + 1:06d}"
        stamp = to_text(dt.datetime.now(dt.UTC))
        conn.execute(
            "INSERT INTO sales VALUES (?, 'sale', 'BENCH-T1', ?, 'bench', ?, 'EUR', 4500, 0, 200, "
            "0, 0, 4500, 4500, ?, 'food-bank', NULL, 'v', 'online', NULL, NULL)",
            (receipt, member, stamp, json.dumps([["OIL", "pantry", 2000]])),
        )
        for kind, points, reason in (
            ("donate", -200, "reward"),
            ("earn", 45, "base"),
            ("bonus", 50, "promo:fresh-bonus"),
        ):
            seq += 1
            digest = hashlib.sha256(f"{prev}{seq}{points}".encode()).hexdigest()
            conn.execute(
                "INSERT INTO ledger VALUES (?, 'BENCH-T1', ?, ?, ?, ?, 0, 'EUR', ?, NULL, NULL, "
                "'v', ?, 0, 'bench', ?, ?, ?, NULL)",
                (
                    new_entry_id(),  # the ids the till makes
                    seq,
                    member,
                    kind,
                    points,
                    receipt,
                    stamp,
                    reason,
                    prev,
                    digest,
                ),
            )
            prev = digest
        conn.execute("UPDATE meta SET value = ? WHERE key = 'receipts_issued'", (str(i + 1),))
        conn.execute("COMMIT")
        raw.append(time.perf_counter() - t0)
    till.close()
    conn.close()
    return {"ours": ours, "raw": raw}


def build_big(path: Path, members: int, entries: int) -> None:
    print(f"building {path} ({members:,} members, {entries:,} entries) once ...", flush=True)
    folder = path.parent
    till = new_till(folder, members=0)
    till.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    stamp = to_text(dt.datetime.now(dt.UTC))
    conn.executemany(
        "INSERT INTO members (member_id, display_name, balance, snapshot_at, updated_at, tier_id) "
        "VALUES (?, 'x', ?, ?, ?, 'olive')",
        ((f"M{i:07d}", i % 5000, stamp, stamp) for i in range(members)),
    )
    rng = random.Random(7)

    def rows():  # type: ignore[no-untyped-def]
        for seq in range(1, entries + 1):
            acked = None if seq > entries - 2000 else stamp
            yield (
                f"e{seq}",
                seq,
                f"M{rng.randrange(members):07d}",
                rng.randrange(1, 90),
                stamp,
                acked,
            )

    conn.executemany(
        "INSERT INTO ledger (entry_id, terminal_id, seq, member_id, kind, points, currency, "
        "program_version, occurred_at, offline, cashier_id, prev_hash, hash, acked_at) "
        "VALUES (?, 'BENCH-T1', ?, ?, 'earn', ?, 'EUR', 'v', ?, 1, 'c', '', '', ?)",
        rows(),
    )
    conn.execute("COMMIT")
    conn.close()


def bench_balance(members: int, entries: int, lookups: int = 2000) -> dict[str, list[float]]:
    folder = ROOT / "bench" / "out" / f"big-{members}-{entries}"
    path = folder / "till.sqlite"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        build_big(path, members, entries)
        print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)
    till = Till.open(folder)
    conn = sqlite3.connect(path)
    rng = random.Random(1)
    ids = [f"M{rng.randrange(members):07d}" for _ in range(lookups)]
    out: dict[str, list[float]] = {}
    # Cold: the first look-up of each member reads pages from disk; warm: the same members
    # again, as at a till where the day's regulars come back. Ours and raw alternate.
    for label in ("cold", "warm"):
        ours, raw = [], []

        def ours_once(member_id: str, ours: list[float] = ours) -> None:
            t0 = time.perf_counter()
            till.balance(member_id)
            ours.append(time.perf_counter() - t0)

        def raw_once(member_id: str, raw: list[float] = raw) -> None:
            t0 = time.perf_counter()
            conn.execute("SELECT * FROM members WHERE member_id = ?", (member_id,)).fetchone()
            conn.execute(
                "SELECT * FROM ledger WHERE member_id = ? AND acked_at IS NULL", (member_id,)
            ).fetchall()
            raw.append(time.perf_counter() - t0)

        # Each member's cold read falls to ours and raw in turn: whoever reads first pays the
        # disk, the other finds the pages cached. Half the members each way.
        for i, member_id in enumerate(ids):
            first, second = (ours_once, raw_once) if i % 2 else (raw_once, ours_once)
            first(member_id)
            second(member_id)
        out[f"ours {label}"] = ours
        out[f"raw {label}"] = raw
    till.close()
    conn.close()
    return out


def report(title: str, results: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"{'':10} {'p50 ms':>9} {'p99 ms':>9} {'n':>7}")
    for name, values in results.items():
        p50, p99 = pct(values, 0.5) * 1000, pct(values, 0.99) * 1000
        print(f"{name:10} {p50:9.3f} {p99:9.3f} {len(values):7}")
    for suffix in ("", " cold", " warm"):
        if f"ours{suffix}" in results:
            ratio = pct(results[f"ours{suffix}"], 0.99) / pct(results[f"raw{suffix}"], 0.99)
            print(f"ours/raw at p99{suffix}: {ratio:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sales", type=int, default=2000)
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--entries", type=int, default=10_000_000)
    args = ap.parse_args()
    python = sys.version.split()[0]
    print(f"SQLite {sqlite3.sqlite_version}, Python {python}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(dir=ROOT / "bench") as folder:
        report(
            f"sale commit, synchronous=FULL ({args.sales} sales each)",
            bench_sales(args.sales, Path(folder)),
        )
    report(
        f"balance look-up, {args.members:,} members / {args.entries:,} entries",
        bench_balance(args.members, args.entries),
    )


if __name__ == "__main__":
    main()
