"""Head office's KPI reports (sync/headoffice/reports) on PostgreSQL, beside the raw SQL
aggregate of the same rows in the same run.

    .venv/bin/python bench/kpis.py [--members 50000] [--entries 1000000] [--tills 100] [--json]

The issue's size is ``--members 1000000 --entries 20000000`` (bench owners with the machine to
themselves); the default is a twentieth so it runs in a few minutes on a shared 2-core machine.

1. Prepare (not timed): a throw-away PostgreSQL (``sync.testing.TempPostgres``, work_mem
   64 MB, shared_buffers 512 MB) with head office's schema; members, tills and a year of
   entries generated inside PostgreSQL (``generate_series``): receipts of an earn line and a
   promotion bonus or a redemption, some refunds, donations and expiries, spread evenly over
   the year before ``now``, each member enrolled at one of the tills; then ANALYZE.
   Then the summaries (sync/headoffice/reports/summaries.py) are built from that ledger as
   the migration of an existing database builds them (``summaries.ensure``, timed apart:
   "summaries built in").
2. Timed, each three times (the best is printed): the whole report for the last month by day
   and for the year by month, chain-wide and for one till, read from the summaries; beside it
   the raw aggregate of the same rows (points by kind over the same range, one GROUP BY of the
   ledger), the floor a report read from the ledger pays; with ``--ledger`` also the same
   report read from the ledger itself (``report(..., summaries=False)``; minutes at the
   issue's size).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loyalty.db import to_text  # noqa: E402
from loyalty.program import parse_program  # noqa: E402
from sync.headoffice.reports import (  # noqa: E402
    from_summaries,
    health,
    members,
    report,
    summaries,
)
from sync.headoffice.reports.period import period  # noqa: E402
from sync.headoffice.store import open_store  # noqa: E402
from sync.testing import TempPostgres  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
# As a chain's reporting server would be set up: the report's sorts and hashes in memory (the
# default work_mem of 4 MB spills them to disk at this size).
SETTINGS = {"work_mem": "64MB", "shared_buffers": "512MB"}
STAMP = '\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\''


def load(store: Any, members: int, entries: int, tills: int) -> None:
    year_s = 365 * 86400
    start = f"TIMESTAMPTZ '{to_text(NOW - dt.timedelta(days=365))}'"
    with store.transaction() as tx:
        tx.run(
            "INSERT INTO tills (terminal_id, token_hash, created_at) "
            f"SELECT 'T' || i, 'x', '2025-01-01' FROM generate_series(0::bigint, {tills - 1}) i"
        )
        tx.run(
            "INSERT INTO members (member_id, snapshot_at, enrolled_at, enrolled_by, balance, "
            "tier_id, pending_json, expiring_points, expiring_at) SELECT 'M' || i, 'x', "
            f"to_char(({start} + (i * {year_s} / {members}) * INTERVAL '1 second') "
            f"AT TIME ZONE 'UTC', {STAMP}), 'T' || (i % {tills}), (i * 7919) % 3000, "
            "CASE WHEN i % 10 = 0 THEN 'oak' ELSE 'olive' END, "
            "CASE WHEN i % 5 = 0 THEN '[[40, \"2026-12-05T00:00:00.000000Z\"]]' ELSE '[]' END, "
            "(i * 31) % 200, '2026-12-31T22:00:00.000000Z' "
            f"FROM generate_series(0::bigint, {members - 1}) i"
        )
        # Entry i belongs to receipt i / 2 of till (i / 2) % tills; its member is spread by a
        # multiplicative hash; two entries a receipt: earn + (bonus | redeem | donate), and
        # every 50th receipt a refund line, every 200th an expiry of head office's own.
        tx.run(
            "INSERT INTO entries (entry_id, terminal_id, seq, member_id, kind, points, "
            "amount_minor, currency, receipt_no, reverses, reward_id, program_version, "
            "occurred_at, offline, cashier_id, reason, prev_hash, hash, received_at) "
            "SELECT 'e' || i, CASE WHEN r % 200 = 0 AND i % 2 = 1 THEN '@headoffice' "
            f"ELSE 'T' || (r % {tills}) END, i, 'M' || ((r * 7919) % {members}), "
            "CASE WHEN i % 2 = 0 THEN 'earn' WHEN r % 200 = 0 THEN 'expire' "
            "WHEN r % 50 = 0 THEN 'reverse' WHEN r % 7 = 0 THEN 'redeem' "
            "WHEN r % 31 = 0 THEN 'donate' ELSE 'bonus' END, "
            "CASE WHEN i % 2 = 0 THEN 10 + r % 90 WHEN r % 200 = 0 THEN -25 "
            "WHEN r % 50 = 0 THEN -(10 + r % 90) WHEN r % 7 = 0 THEN -250 "
            "WHEN r % 31 = 0 THEN -200 ELSE 50 END, "
            "CASE WHEN i % 2 = 0 THEN 1000 + (r % 90) * 100 WHEN r % 50 = 0 AND r % 200 <> 0 "
            "THEN -(1000 + (r % 90) * 100) WHEN r % 31 = 0 THEN 200 ELSE 0 END, 'EUR', "
            "CASE WHEN r % 200 = 0 AND i % 2 = 1 THEN NULL ELSE 'R' || r END, NULL, "
            "CASE WHEN r % 200 <> 0 AND r % 50 <> 0 AND r % 7 = 0 AND i % 2 = 1 THEN 'coffee' "
            "WHEN r % 200 <> 0 AND r % 50 <> 0 AND r % 31 = 0 AND i % 2 = 1 THEN 'food-bank' "
            "END, 'v1', "
            f"to_char(({start} + (i::bigint * {year_s} / {entries}) * INTERVAL '1 second') "
            f"AT TIME ZONE 'UTC', {STAMP}), 1, 'c', "
            "CASE WHEN i % 2 = 0 THEN 'base' WHEN r % 200 = 0 THEN 'expiry' "
            "WHEN r % 50 = 0 THEN 'refund:base' ELSE 'promo:x' END, 'p', 'h', "
            f"to_char(({start} + (i::bigint * {year_s} / {entries}) * INTERVAL '1 second') "
            f"AT TIME ZONE 'UTC', {STAMP}) "
            f"FROM (SELECT i, i / 2 AS r FROM generate_series(0::bigint, {entries - 1}) i) g"
        )
    with store.transaction() as tx:
        tx.run("ANALYZE")


def best(fn: Callable[[], Any], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def parts(store: Any, program: Any, asked: Any) -> dict[str, float]:
    """Each group of figures of the report on its own (best of one run each, after the
    whole report warmed the cache): where the report's time goes."""
    asked = replace(asked, dialect=store.dialect)
    steps: dict[str, Callable[[Any], Any]] = {
        "buckets+buying+cohorts": lambda tx: from_summaries.figures(tx, asked),
        "rewards": lambda tx: from_summaries.rewards(tx, asked, program),
        "tiers": lambda tx: (members.distribution(tx), from_summaries.tier_reviews(tx, asked)),
        "outstanding": lambda tx: members.outstanding(tx, program, NOW),
        "tills": lambda tx: health.tills(tx, NOW, asked.shop,
                                         from_summaries.last_pushes(tx, asked.shop)),
    }  # fmt: skip
    out = {}
    for name, step in steps.items():
        with store.transaction() as tx:
            t0 = time.perf_counter()
            step(tx)
            out[name] = round(time.perf_counter() - t0, 3)
    return out


def raw(store: Any, lo: str, hi: str, shop: str | None) -> None:
    where = " AND terminal_id = ?" if shop else ""
    with store.transaction() as tx:
        tx.all(
            "SELECT kind, SUM(points), SUM(amount_minor), COUNT(*) FROM entries "
            "WHERE occurred_at >= ? AND occurred_at < ?" + where + " GROUP BY kind",
            [lo, hi, *([shop] if shop else [])],
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--tills", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--ledger", action="store_true",
                        help="also time each report read from the ledger itself")  # fmt: skip
    args = parser.parse_args()
    program = parse_program((ROOT / "fixtures" / "program.toml").read_text(encoding="utf-8"))
    pg = TempPostgres(SETTINGS)
    try:
        store = open_store(pg.empty_database("kpis_bench"))
        t0 = time.perf_counter()
        load(store, args.members, args.entries, args.tills)
        loaded = time.perf_counter() - t0
        t0 = time.perf_counter()
        with store.transaction() as tx:
            summaries.ensure(tx, str(program.timezone))
        built = time.perf_counter() - t0
        with store.transaction() as tx:
            tx.run("ANALYZE")
        out: dict[str, Any] = {
            "members": args.members, "entries": args.entries, "tills": args.tills,
            "settings": SETTINGS,
            "load_s": round(loaded, 1), "summaries_s": round(built, 1), "reports": [],
        }  # fmt: skip
        cases = [
            ("month", "2026-11-01", "2026-11-30", "day"),
            ("year", "2025-12-01", "2026-11-30", "month"),
        ]
        for name, start, end, by in cases:
            for shop in (None, "T7"):
                asked = period(program.timezone, NOW, start, end, by, shop)
                docs: list[dict[str, Any]] = []
                took = best(lambda s=start, e=end, b=by, t=shop, d=docs: d.append(
                    report(store, program, NOW, s, e, b, t)))  # fmt: skip
                doc = docs[-1]
                floor = best(lambda a=asked, t=shop: raw(store, a.lo, a.hi, t))
                from_ledger = None
                if args.ledger:
                    from_ledger = round(best(lambda s=start, e=end, b=by, t=shop: report(
                        store, program, NOW, s, e, b, t, summaries=False), runs=1), 3)  # fmt: skip
                    same = report(store, program, NOW, start, end, by, shop, summaries=False)
                    assert same == doc, "the summaries and the ledger disagree"
                out["reports"].append({
                    "range": name, "by": by, "shop": shop or "chain",
                    "report_s": round(took, 3), "raw_aggregate_s": round(floor, 3),
                    "ledger_report_s": from_ledger,
                    "ratio": round(took / floor, 1) if floor else None,
                    "points_issued": doc["period"]["points_issued"],
                    "parts_s": parts(store, program, asked),
                })  # fmt: skip
        store.close()
    finally:
        pg.stop()
    if args.json:
        print(json.dumps(out))
    else:
        print(f"members {args.members:,}  entries {args.entries:,}  tills {args.tills}  "
              f"(loaded in {out['load_s']} s, summaries built in {out['summaries_s']} s; "
              "not timed)")  # fmt: skip
        for r in out["reports"]:
            print(f"{r['range']:>5} by {r['by']:<5} {r['shop']:>5}: report {r['report_s']:7.3f} s"
                  f"   raw aggregate {r['raw_aggregate_s']:7.3f} s   x{r['ratio']}"
                  f"   (points issued {r['points_issued']:,})"
                  + (f"   from the ledger {r['ledger_report_s']:.3f} s"
                     if r["ledger_report_s"] is not None else ""))  # fmt: skip
            print("      parts: " + "  ".join(f"{k} {v}" for k, v in r["parts_s"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
