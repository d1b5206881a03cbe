"""What writing a push's accounts costs PostgreSQL, by the statement's form and the size of
the account state: the figures behind docs/scaling.md's "fourth pass".

    .venv/bin/python bench/account_writes.py [--members 200000] [--touched 2500] [--rounds 10]

A head-office members table (the store's own schema, fillfactor included) on a throw-away
PostgreSQL holds ``--members`` accounts; each round writes ``--touched`` random ones of them,
each only if its row version is still the one read, as a push does (``Tx.update_unchanged``):

- jsonb: what head office runs, one UPDATE ... FROM jsonb_array_elements of one parameter;
- json: the same over a ``json`` parameter (checked as text, parsed again by each ``->>``);
- copy: COPY into a temporary table, then UPDATE ... FROM it (the baseline a bulk loader
  would reach for).

For account states of 1, 8 and 16 lots (about 0.5, 1.2 and 2.1 KB of JSON), it prints the
CPU per account written of PostgreSQL's backend and of this process, and the wall time.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402
import procstats  # noqa: E402
import psycopg  # noqa: E402

from sync.headoffice import store, store_postgres  # noqa: E402
from sync.headoffice.folding import _WRITE_ACCOUNT  # noqa: E402
from sync.testing import TempPostgres  # noqa: E402

STAMP = "2026-12-02T07:10:00.000000Z"
COLUMNS = [
    "balance", "pending_json", "tier_id", "tier_progress", "expiring_points", "expiring_at",
    "has_purchased", "overdrawn", "snapshot_at", "state_json",
]  # fmt: skip


def account_state(lots: int) -> str:
    """An account state (sync.headoffice.accounts.AccountState) with ``lots`` lots and half
    as many tier contributions, as a member earning that many times over a night has."""
    ids = [f"0190c0de-0000-7000-8000-{i:012d}" for i in range(lots)]
    release, expiry = "2026-12-16T07:10:00.000000Z", "2027-12-31T22:00:00.000000Z"
    return json.dumps({
        "lots": [[i, 12, release, expiry] for i in ids],
        "debt": 0, "purchased": True,
        "qualifying": [[i, STAMP, 1234] for i in ids[: max(1, lots // 2)]],
    })  # fmt: skip


def setup(url: str, members: int, state: str) -> psycopg.Connection[Any]:
    store.open_store(url).close()  # head office's schema
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("TRUNCATE members")
    copy = "COPY members (member_id, snapshot_at, state_json) FROM STDIN"
    with conn.cursor() as cur, cur.copy(copy) as cp:
        for i in range(members):
            cp.write_row((f"M{i:07d}", STAMP, state))
    conn.execute("VACUUM ANALYZE members")
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS account_writes (balance bigint, pending_json text, "
        "tier_id text, tier_progress bigint, expiring_points bigint, expiring_at text, "
        "has_purchased integer, overdrawn integer, snapshot_at text, state_json text, "
        "member_id text, version xid) ON COMMIT DELETE ROWS"
    )
    conn.autocommit = False
    return conn


def measure(
    conn: psycopg.Connection[Any], args: argparse.Namespace, state: str
) -> dict[str, list[float]]:
    jsonb = store_postgres._bulk_update(conn, " ".join(_WRITE_ACCOUNT.split()), versioned=True)
    forms = {
        "jsonb": jsonb,
        "json": jsonb.replace("jsonb_array_elements(%s::jsonb)", "json_array_elements(%s::json)"),
        "copy": "UPDATE members AS t SET " + ", ".join(f"{c} = a.{c}" for c in COLUMNS)
        + " FROM account_writes a WHERE t.member_id = a.member_id AND t.xmin = a.version "
        "RETURNING t.member_id",
    }  # fmt: skip
    backend = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
    conn.commit()
    encoder = msgspec.json.Encoder()
    totals = {form: [0.0, 0.0, 0.0] for form in forms}
    rand = random.Random(1)
    for round_ in range(args.rounds + 1):  # the first round warms the cache, uncounted
        for form, sql in forms.items():
            ids = [f"M{i:07d}" for i in sorted(rand.sample(range(args.members), args.touched))]
            versions = dict(conn.execute(
                "SELECT member_id, xmin::text FROM members WHERE member_id = ANY(%s)", (ids,)
            ).fetchall())  # fmt: skip
            conn.commit()
            rows = [
                (100, "[]", "olive", 1234, 0, None, 1, 0, STAMP, state, m, versions[m]) for m in ids
            ]
            own, pg, wall = time.process_time(), procstats.cpu_seconds(backend), time.perf_counter()
            if form == "copy":
                with conn.cursor() as cur, cur.copy("COPY account_writes FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
                conn.execute("ANALYZE account_writes")  # or it plans a scan of all members
                written = conn.execute(sql).fetchall()
            else:
                written = conn.execute(sql, (encoder.encode(rows).decode(),)).fetchall()
            conn.commit()
            if len(written) != args.touched:
                raise AssertionError(f"{form}: wrote {len(written)} of {args.touched}")
            if round_:
                t = totals[form]
                t[0] += procstats.cpu_seconds(backend) - pg
                t[1] += time.process_time() - own
                t[2] += time.perf_counter() - wall
    return totals


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--touched", type=int, default=2_500)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    pg = TempPostgres({"shared_buffers": "2GB"})
    url = pg.new_database()
    n = args.rounds * args.touched
    print(f"{'state':>10}  {'form':<5}  {'PostgreSQL CPU':>15}  {'Python CPU':>11}  "
          f"{'wall':>8}  (per account written)")  # fmt: skip
    try:
        for lots in (1, 8, 16):
            state = account_state(lots)
            conn = setup(url, args.members, state)
            for form, (pg_s, own_s, wall_s) in measure(conn, args, state).items():
                print(f"{len(state):>8,} B  {form:<5}  {pg_s * 1e6 / n:>12.1f} us  "
                      f"{own_s * 1e6 / n:>8.1f} us  {wall_s * 1e6 / n:>5.1f} us")  # fmt: skip
            conn.close()
    finally:
        pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
