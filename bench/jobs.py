"""Head office's period-end job on PostgreSQL, beside a raw SQL baseline of the same work.

    .venv/bin/python bench/jobs.py [--members 20000] [--entries 200000] [--page 1000] [--json]

The issue's size is ``--members 1000000 --entries 10000000`` (several minutes to load on a
shared 2-core machine; the default is a fiftieth so the whole run takes about a minute).

Real parts only: a throw-away PostgreSQL (``sync.testing.TempPostgres``, fsync=off like the
tests' one, set up like bench/chain.py's chain server), head office's own schema and code.

1. Prepare (not timed): two databases with the same content, loaded with COPY: ``--members``
   members with head office's kept account state (``state_json``: one lot per earning, and the
   tier's contributions) and row (balance, tier, points expiring next), and ``--entries``
   earnings spread over 2026 across 1,000 tills, as pushes would have left them.
2. The job (timed): ``sync.headoffice.jobs.run_due`` on 1 February 2028, when every point
   earned in 2026 has expired (the fixture program: end of the year after) and the calendar
   year 2027 that qualified the tiers is over: an ``expire`` entry per member, a tier-review
   entry per member above the first tier, every member's row rewritten, the change feed told.
3. Raw baseline (timed, in the same run, on the other database): the same work as set-based
   SQL in one transaction, without head office's code: expired points per member from the
   same ``state_json``, the expire and tier entries inserted with one INSERT ... SELECT each,
   the member rows rewritten with one UPDATE ... FROM, one change row.
4. Check: both databases hold the same expire entries (member, points) and the same balances.

Printed: members/s and entries written/s for both, and the job's time as a multiple of the
baseline's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from loyalty.program import parse_program  # noqa: E402
from sync.headoffice.accounts import AccountState, Contribution, Lot, dump_state  # noqa: E402
from sync.headoffice.jobs import run_due  # noqa: E402
from sync.headoffice.service import HeadOffice  # noqa: E402
from sync.headoffice.store import open_store  # noqa: E402
from sync.testing import TempPostgres  # noqa: E402

PROGRAM_TEXT = (ROOT / "fixtures" / "program.toml").read_text(encoding="utf-8")
SERVER = {"shared_buffers": "2GB", "max_wal_size": "8GB", "checkpoint_timeout": "30min"}
EXPIRES = "2027-12-31T22:00:00.000000Z"  # 1 January 2028 in Athens: 2026's points expire
NOW = dt.datetime(2028, 2, 1, 12, tzinfo=dt.UTC)
TILLS = 1000
_ENTRY = (
    "entry_id", "terminal_id", "seq", "member_id", "kind", "points", "amount_minor", "currency",
    "receipt_no", "reverses", "reward_id", "program_version", "occurred_at", "offline",
    "cashier_id", "reason", "prev_hash", "hash", "received_at", "chain_ok",
)  # fmt: skip
_MEMBER = (
    "member_id", "display_name", "balance", "pending_json", "tier_id", "tier_progress",
    "expiring_points", "expiring_at", "has_purchased", "snapshot_at", "state_json",
)  # fmt: skip


def load(url: str, members: int, entries: int, seed: int) -> None:
    """Head office's schema (by opening its store), then members and entries with COPY."""
    open_store(url).close()
    program = parse_program(PROGRAM_TEXT, "bench")
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)
    version = program.version
    # Two connections: one COPY each, written side by side.
    with psycopg.connect(url) as conn, psycopg.connect(url) as other:
        conn.execute(
            "INSERT INTO programs (version, document, published_at) VALUES (%s, %s, %s)",
            (version, PROGRAM_TEXT, "2026-01-01T00:00:00.000000Z"),
        )
        conn.execute("INSERT INTO settings (key, value) VALUES ('program_version', %s)", (version,))
        seqs = [0] * TILLS
        with (
            conn.cursor() as cur,
            other.cursor() as cur2,
            cur.copy(f"COPY members ({', '.join(_MEMBER)}) FROM STDIN") as mcopy,
            cur2.copy(f"COPY entries ({', '.join(_ENTRY)}) FROM STDIN") as ecopy,
        ):
            per = entries // members
            extra = entries - per * members
            for m in range(members):
                member_id = f"M{m:07d}"  # bench/chain.py's, so its tills can push for them
                state = AccountState(purchased=True)
                for _ in range(per + (1 if m < extra else 0)):
                    when = start + dt.timedelta(minutes=rng.randrange(360 * 24 * 60))
                    stamp = when.isoformat(timespec="microseconds").replace("+00:00", "Z")
                    spend = rng.randrange(500, 15000)  # EUR 5 to 150: many reach Oak
                    points = spend // 100
                    entry_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                    till = rng.randrange(TILLS)
                    seqs[till] += 1
                    ecopy.write_row(
                        (entry_id, f"T{till:04d}", seqs[till], member_id, "earn", points,
                         spend, "EUR", None, None, None, version, stamp, 1, "c1", "base",
                         "0" * 64, "0" * 64, stamp, 1)
                    )  # fmt: skip
                    release = (when + dt.timedelta(days=14)).isoformat(timespec="microseconds")
                    lot = Lot(entry_id, points, release.replace("+00:00", "Z"), EXPIRES)
                    state.lots.append(lot)
                    state.qualifying.append(Contribution(entry_id, stamp, spend))
                balance = sum(lot.points for lot in state.lots)
                spend = sum(c.amount for c in state.qualifying)
                tier = max((t for t in program.tiers if t.threshold <= spend),
                           key=lambda t: t.threshold)  # fmt: skip
                mcopy.write_row(
                    (member_id, "", balance, "[]", tier.id, spend, balance, EXPIRES, 1,
                     "2026-12-31T12:00:00.000000Z", dump_state(state))
                )  # fmt: skip
        conn.commit()
        other.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE members")
        conn.execute("VACUUM ANALYZE entries")


BASELINE = [
    # Expired points per member and expiry time, from the same kept state.
    """CREATE TEMP TABLE due AS
       SELECT m.member_id, l->>3 AS expires_at, SUM((l->>1)::bigint) AS points
       FROM members m, jsonb_array_elements(m.state_json::jsonb -> 'lots') AS l
       WHERE (l->>1)::bigint > 0 AND l->>3 IS NOT NULL AND l->>3 <= %(now)s
       GROUP BY 1, 2""",
    # Head office's expire entries (ids from the fact, seqs in order, a hash per entry).
    """INSERT INTO entries (entry_id, terminal_id, seq, member_id, kind, points, amount_minor,
           currency, program_version, occurred_at, offline, cashier_id, reason, prev_hash,
           hash, received_at, chain_ok)
       SELECT md5('expire:' || member_id || ':' || expires_at)::uuid::text, '@headoffice',
           row_number() OVER (ORDER BY member_id, expires_at), member_id, 'expire', -points,
           0, 'EUR', %(version)s, %(now)s, 0, 'headoffice', 'expiry', '',
           encode(sha256(convert_to(member_id || expires_at || points::text, 'UTF8')), 'hex'),
           %(now)s, 1
       FROM due""",
    # The tier review's entries: every member above the first tier lapses to it.
    """INSERT INTO entries (entry_id, terminal_id, seq, member_id, kind, points, amount_minor,
           currency, program_version, occurred_at, offline, cashier_id, reason, prev_hash,
           hash, received_at, chain_ok)
       SELECT md5('tier:' || member_id)::uuid::text, '@headoffice',
           (SELECT count(*) FROM due) + row_number() OVER (ORDER BY member_id), member_id,
           'adjust', 0, 0, 'EUR', %(version)s, %(now)s, 0, 'headoffice',
           'tier_review:' || tier_id || ':olive', '',
           encode(sha256(convert_to(member_id || tier_id, 'UTF8')), 'hex'), %(now)s, 1
       FROM members WHERE tier_id <> 'olive'""",
    # Every member's row: expired points out of the balance and the kept lots, tier reset.
    """UPDATE members m SET balance = m.balance - d.points, expiring_points = 0,
           expiring_at = NULL, tier_id = 'olive', tier_progress = 0, snapshot_at = %(now)s,
           state_json = jsonb_build_object('lots', '[]'::jsonb, 'debt', 0,
               'purchased', true, 'qualifying', '[]'::jsonb)::text
       FROM (SELECT member_id, SUM(points) AS points FROM due GROUP BY 1) d
       WHERE m.member_id = d.member_id""",
    """INSERT INTO changes (kind, ref, origin) VALUES ('members', 'all', NULL)""",
]


def baseline(url: str, version: str) -> float:
    params = {"now": NOW.isoformat(timespec="microseconds").replace("+00:00", "Z"),
              "version": version}  # fmt: skip
    t = time.perf_counter()
    with psycopg.connect(url) as conn:
        for sql in BASELINE:
            conn.execute(sql, params)
        conn.commit()
    return time.perf_counter() - t


def outcome(url: str) -> tuple[int, int, int, int]:
    """(expire entries, points expired, tier-review entries, sum of balances) as stored."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE kind = 'expire'), "
            "COALESCE(-SUM(points) FILTER (WHERE kind = 'expire'), 0), "
            "count(*) FILTER (WHERE reason LIKE 'tier_review:%') "
            "FROM entries WHERE terminal_id = '@headoffice'"
        ).fetchone()
        total = conn.execute("SELECT SUM(balance) FROM members").fetchone()
    assert row is not None and total is not None
    return int(row[0]), int(row[1]), int(row[2]), int(total[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--page", type=int, default=1000, help="members per job transaction")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.entries < args.members:
        parser.error("--entries must be at least --members")

    pg = TempPostgres(SERVER)
    try:
        ours_url, raw_url = pg.new_database(), pg.new_database()
        t = time.perf_counter()
        for url in (ours_url, raw_url):
            load(url, args.members, args.entries, seed=11)
        prepared = time.perf_counter() - t
        version = parse_program(PROGRAM_TEXT, "bench").version

        ho = HeadOffice(open_store(ours_url))
        t = time.perf_counter()
        report = run_due(ho, NOW, page=args.page)
        ours = time.perf_counter() - t
        again = run_due(ho, NOW, page=args.page)  # idempotent: writes nothing
        ho.store.close()
        raw = baseline(raw_url, version)

        mine, theirs = outcome(ours_url), outcome(raw_url)
        if mine != theirs or again.expire_entries or again.members_changed:
            raise AssertionError(f"job {mine} vs baseline {theirs}; second run {again}")
        written = report.expire_entries + report.tier_changes
        figures: dict[str, Any] = {
            "members": args.members,
            "entries": args.entries,
            "prepare_s": round(prepared, 1),
            "job_s": round(ours, 2),
            "job_members_per_s": round(args.members / ours),
            "job_entries_written": written,
            "baseline_s": round(raw, 2),
            "baseline_members_per_s": round(args.members / raw),
            "job_vs_baseline": round(ours / raw, 2),
            "expire_entries": mine[0],
            "points_expired": mine[1],
            "tier_changes": mine[2],
        }
    finally:
        pg.stop()
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>24}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
