"""Sync over loopback: push and pull rates beside raw baselines measured in the same run, a busy
shop's day synced, and the till's peak memory while pulling many members.

    .venv/bin/python bench/sync.py [--entries 20000] [--sales 5000] [--members 200000] [--postgres]

Head office runs as its own process (uvicorn, SQLite in a temp dir); the till is this process
(and a child process for the memory figures, so their peak RSS is the pull's alone).

- push: entries/s from one till's outbox to head office (gzip batches of 5,000, per-entry
  results, balances recomputed for the members touched), against raw: the same rows inserted
  straight into a head-office database of the same schema and settings, in transactions of the
  same size (INSERT ... ON CONFLICT DO NOTHING, executemany). Beside it, the CPU each part
  spent per entry during the push (the till, head office's process, PostgreSQL's postmaster
  and backends, read from /proc) and the wall time per entry: when the sum is well above the
  wall time, the parts ran at once.
- pull: members/s from a head office holding N members into an empty till (pages of 5,000, each
  applied with its cursor in one transaction), against raw: the same member rows inserted
  straight into an empty till database (executemany in transactions of the same size).
- day: a till with 5,000 real sales (loyalty.sales.sale) synced: push then pull.
- memory: the till process's peak RSS (VmHWM) pulling N/4 and N members: flat means the pull
  streams. 200,000 by default to stay within two minutes; ``--members 1000000`` works (~2 min).
- ``--postgres``: push and day again with head office on a throw-away PostgreSQL (started with
  fsync=off, like the tests' one: compare it with its own raw baselines, not with SQLite),
  beside a raw COPY of the same entries and the two-write baseline (bench/two_writes.py: the
  same COPY plus a raw UPDATE of the same accounts, the two writes a push must do), each with
  PostgreSQL's CPU per entry.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import procstats  # noqa: E402  (bench/, this script's folder, is on sys.path)
import two_writes  # noqa: E402

from loyalty import ledger  # noqa: E402
from loyalty.db import to_text, utc_now  # noqa: E402
from loyalty.ledger import NewEntry  # noqa: E402
from loyalty.rules import BasketLine  # noqa: E402
from loyalty.sales import SaleRequest, sale  # noqa: E402
from loyalty.till import Till  # noqa: E402
from sync.client import SyncClient  # noqa: E402
from sync.headoffice.service import HeadOffice  # noqa: E402
from sync.headoffice.store import open_store  # noqa: E402
from sync.testing import ServerProcess, TempPostgres  # noqa: E402

PROGRAM_PATH = ROOT / "fixtures" / "program.toml"
PROGRAM = PROGRAM_PATH.read_text(encoding="utf-8")
ADMIN = "bench-admin"
BATCH = int(os.environ.get("BENCH_BATCH", "5000"))  # the client's default
PAGE = 5000


def new_till(folder: Path, terminal_id: str) -> Till:
    till = Till.open(folder, must_exist=False)
    till.initialise(terminal_id, PROGRAM, "program")
    return till


def fill_outbox(till: Till, n: int, members: int) -> None:
    """n real ledger entries (hash-chained, seq-numbered) in one transaction."""
    program = till.program
    stamp = to_text(utc_now())
    with till.db.write() as conn:
        ledger.append(
            conn, till.terminal_id,
            (NewEntry(f"M{i % members:07d}", "earn", 12, 1234, f"R{i}", reason="base")
             for i in range(n)),
            currency=program.currency, program_version=program.version, occurred_at=stamp,
            offline=True, cashier_id="c1",
        )  # fmt: skip


def raw_push_baseline(till: Till, db: str) -> float:
    """The same entry rows straight into a head-office database: rows per second."""
    store = open_store(db)
    with till.db.read() as conn:
        rows = conn.execute(
            "SELECT entry_id, terminal_id, seq, member_id, kind, points, amount_minor, currency, "
            "receipt_no, reverses, reward_id, program_version, occurred_at, offline, cashier_id, "
            "reason, prev_hash, hash FROM ledger ORDER BY seq"
        ).fetchall()
    stamp = to_text(utc_now())
    rows = [(*r, stamp, 1) for r in rows]
    start = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        with store.transaction() as tx:
            tx.many(
                "INSERT INTO entries (entry_id, terminal_id, seq, member_id, kind, points, "
                "amount_minor, currency, receipt_no, reverses, reward_id, program_version, "
                "occurred_at, offline, cashier_id, reason, prev_hash, hash, received_at, "
                f"chain_ok) VALUES ({', '.join('?' * 20)}) ON CONFLICT DO NOTHING",
                rows[i : i + BATCH],
            )
    elapsed = time.perf_counter() - start
    store.close()
    return len(rows) / elapsed


def till_rows(till: Till, stamp: str) -> list[tuple[object, ...]]:
    """The outbox's entries as head office's entry rows (two_writes.ENTRY_COLUMNS' order)."""
    with till.db.read() as conn:
        rows = conn.execute(
            "SELECT entry_id, terminal_id, seq, member_id, kind, points, amount_minor, currency, "
            "receipt_no, reverses, reward_id, program_version, occurred_at, offline, cashier_id, "
            "reason, prev_hash, hash FROM ledger ORDER BY seq"
        ).fetchall()
    return [(*r, stamp, 1) for r in rows]


def two_write_baselines(
    till: Till, copy_db: str, two_db: str, pg: procstats.Postgres | None
) -> list[tuple[str, str, str]]:
    """PostgreSQL only: raw COPY of the outbox's entries alone, then COPY of the same entries
    plus a raw UPDATE of the same accounts (bench/two_writes.py), batches of the push's size."""
    stamp = to_text(utc_now())
    rows = till_rows(till, stamp)
    batches = [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]
    out = []
    for db, accounts, name in (
        (copy_db, False, "raw COPY of the entries alone"),
        (two_db, True, "two-write baseline: COPY entries + UPDATE accounts"),
    ):
        seconds, pg_cpu, n = two_writes.copy_and_update(db, batches, stamp, accounts, pg)
        out.append((f"{name} entries/s (PostgreSQL)", f"{n / seconds:,.0f}",
                    f"PostgreSQL CPU {pg_cpu * 1e6 / n:.0f} us an entry"))  # fmt: skip
    return out


def headoffice_db(db: str | Path, members: int) -> str:
    """A head-office database with the program, tills and ``members`` members (inserted raw)."""
    ho = HeadOffice(open_store(str(db)), admin_token=ADMIN)
    ho.publish_program(PROGRAM)
    stamp = to_text(utc_now())
    with ho.store.transaction() as tx:
        for i in range(0, members, 50_000):
            tx.many(
                "INSERT INTO members (member_id, card_number, display_name, language, "
                "snapshot_at) VALUES (?, ?, ?, ?, ?)",
                ((f"M{j:07d}", f"9{j:015d}", f"Member {j}", "el", stamp)
                 for j in range(i, min(members, i + 50_000))),
            )  # fmt: skip
    ho.store.close()
    return str(db)


def token(db: str, terminal_id: str) -> str:
    ho = HeadOffice(open_store(db), admin_token=ADMIN)
    value = ho.register_till(terminal_id, replace=True)
    ho.store.close()
    return value


def raw_pull_baseline(folder: Path, members: int) -> float:
    """The same member rows straight into an empty till database: rows per second."""
    till = new_till(folder, "RAW")
    stamp = to_text(utc_now())
    rows = [
        (f"M{j:07d}", f"9{j:015d}", f"Member {j}", "el", "active", 0, "[]", "olive", 0, 0,
         None, 0, None, None, stamp, stamp)
        for j in range(members)
    ]  # fmt: skip
    start = time.perf_counter()
    for i in range(0, members, PAGE):
        with till.db.write() as conn:
            conn.executemany(
                "INSERT INTO members (member_id, card_number, display_name, language, status, "
                "balance, pending_json, tier_id, tier_progress, expiring_points, expiring_at, "
                "has_purchased, birthday, phone_hash, snapshot_at, updated_at) "
                f"VALUES ({', '.join('?' * 16)})",
                rows[i : i + PAGE],
            )
    elapsed = time.perf_counter() - start
    till.close()
    return members / elapsed


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def pull_child(url: str, tok: str, folder: str) -> None:
    """Run in a child process: pull everything into an empty till; report time and peak RSS."""
    till = new_till(Path(folder), "PULL")
    before = _status_kb("VmRSS")
    with SyncClient(till, url, tok, page_size=PAGE) as client:
        start = time.perf_counter()
        report = client.sync()
        elapsed = time.perf_counter() - start
    peak = _status_kb("VmHWM")  # this process's peak (ru_maxrss would include the parent's)
    print(json.dumps({"members": report.members, "seconds": elapsed,
                      "rss_before_mb": before / 1024, "rss_peak_mb": peak / 1024}))  # fmt: skip


def pull(url: str, tok: str, folder: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--pull-child", url, tok, str(folder)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout)
    return result


def busy_day(url: str, db: str, folder: Path, sales: int) -> tuple[float, int]:
    till = new_till(folder, "DAY")
    with SyncClient(till, url, token(db, "DAY"), batch_size=BATCH) as client:
        client.sync()  # the morning: members and program
        for i in range(sales):
            basket = (BasketLine("A", "fresh", 1000 + i % 5000), BasketLine("B", "grocery", 450))
            sale(till, SaleRequest(f"M{i % 2000:07d}", "c1", basket))
        entries = till.outbox_size()
        start = time.perf_counter()
        report = client.sync()
        elapsed = time.perf_counter() - start
        assert report.outbox == 0
    till.close()
    return elapsed, entries


def _cpu_s(server: int, pg: procstats.Postgres | None) -> tuple[float, float, float]:
    """CPU seconds so far of this process (the till), head office's and PostgreSQL's."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return (own.ru_utime + own.ru_stime, procstats.cpu_seconds(server), pg.cpu() if pg else 0.0)


def push_and_day(
    tmp: Path, label: str, raw_db: str, push_db: str, entries: int, sales: int,
    pg: procstats.Postgres | None = None, baseline_dbs: tuple[str, str] | None = None,
) -> list[tuple[str, str, str]]:  # fmt: skip
    rows: list[tuple[str, str, str]] = []
    till = new_till(tmp / "push-till", "PUSH")
    fill_outbox(till, entries, members=2000)
    raw = raw_push_baseline(till, raw_db)
    baselines: list[tuple[str, str, str]] = []
    if baseline_dbs is not None:
        baselines = two_write_baselines(
            till, baseline_dbs[0], headoffice_db(baseline_dbs[1], 2000), pg
        )
    db = headoffice_db(push_db, 2000)
    server = ServerProcess(db, ADMIN)
    url = server.start()
    assert server.proc is not None
    with SyncClient(till, url, token(db, "PUSH"), batch_size=BATCH) as client:
        before = _cpu_s(server.proc.pid, pg)
        start = time.perf_counter()
        report = client.push()
        elapsed = time.perf_counter() - start
        spent = [b - a for a, b in zip(before, _cpu_s(server.proc.pid, pg), strict=True)]
    assert report.pushed == entries and report.outbox == 0
    rate = entries / elapsed
    rows.append((f"push entries/s (one till, loopback, {label})", f"{rate:,.0f}",
                 f"{rate / raw:.0%} of raw"))  # fmt: skip
    rows.append((f"raw insert into head office entries/s ({label})", f"{raw:,.0f}", "baseline"))
    for name, value, note in baselines:
        two = float(value.replace(",", ""))
        rows.append((name, value, f"push is {rate / two:.0%} of it; {note}"))
    till_us, office_us, db_us = (s * 1e6 / entries for s in spent)
    database = f"{db_us:.0f}" if pg else "(in head office)"
    rows.append((f"push CPU per entry, till + head office + database ({label}), us",
                 f"{till_us + office_us + db_us:.0f}",
                 f"{till_us:.0f} + {office_us:.0f} + {database}; "
                 f"wall time {elapsed * 1e6 / entries:.0f} us an entry"))  # fmt: skip
    till.close()
    seconds, day_entries = busy_day(url, db, tmp / "day-till", sales)
    rows.append((f"{sales:,}-sale day synced ({day_entries:,} entries, {label}), s",
                 f"{seconds:.2f}", "target < 2 s"))  # fmt: skip
    server.stop()
    return rows


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--pull-child":
        pull_child(*sys.argv[2:5])
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--sales", type=int, default=5_000)
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--postgres", action="store_true", help="push and day on PostgreSQL too")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    rows: list[tuple[str, str, str]] = []

    # push: one till's outbox to a fresh head office, beside the raw insert of the same rows;
    # then a busy shop's day against the same head office (2,000 members).
    stores = [("SQLite", str(tmp / "raw.sqlite"), str(tmp / "push.sqlite"))]
    pg = None
    if args.postgres:
        pg = TempPostgres()
        stores.append(("PostgreSQL", pg.new_database(), pg.new_database()))
    for label, raw_db, push_db in stores:
        cluster = procstats.Postgres(pg.dir / "data") if pg and label == "PostgreSQL" else None
        extra = None
        if pg and label == "PostgreSQL":
            copy_db = pg.new_database()
            open_store(copy_db).close()  # head office's schema, no members
            extra = (copy_db, pg.new_database())
        rows += push_and_day(
            tmp / label, label, raw_db, push_db, args.entries, args.sales, cluster, extra
        )
    if pg is not None:
        pg.stop()

    # pull: N/4 then N members into empty tills, peak RSS of the till process each time.
    raw_pull = raw_pull_baseline(tmp / "raw-till", args.members)
    for n in (args.members // 4, args.members):
        db = headoffice_db(tmp / f"pull-headoffice-{n}.sqlite", n)
        server = ServerProcess(db, ADMIN)
        url = server.start()
        got = pull(url, token(db, "PULL"), tmp / f"pull-till-{n}")
        server.stop()
        assert got["members"] == n, got
        rate = n / got["seconds"]
        rows.append((f"pull members/s ({n:,} members)", f"{rate:,.0f}",
                     f"{rate / raw_pull:.0%} of raw"))  # fmt: skip
        rows.append((f"till peak RSS pulling {n:,} members, MB", f"{got['rss_peak_mb']:.0f}",
                     f"{got['rss_before_mb']:.0f} MB before the pull"))  # fmt: skip
    rows.append(("raw insert into till members/s", f"{raw_pull:,.0f}", "baseline"))

    shutil.rmtree(tmp, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>12}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
