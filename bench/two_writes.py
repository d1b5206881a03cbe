"""The two-write baseline of a push on PostgreSQL: what a bulk loader that knew the answer
would write for the same batches. A push cannot beat a raw insert of its entries alone, because
it must also keep each member's account; so beside the raw COPY of the entries, bench/sync.py
and bench/chain.py print this: per batch, in one transaction, a COPY of the batch's entries
plus a raw UPDATE of the accounts of the members the batch touches (COPY of the new account
rows into a temporary table, then one UPDATE ... FROM it, account_writes.py's "copy" form).

The account rows carry the balance moved by the batch and an account state of about the size
head office keeps (``STATE``); nothing is read or folded, that is head office's work, and the
baseline is what is left when that work costs nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

import procstats
import psycopg

ENTRY_COLUMNS = (
    "entry_id, terminal_id, seq, member_id, kind, points, amount_minor, currency, receipt_no, "
    "reverses, reward_id, program_version, occurred_at, offline, cashier_id, reason, prev_hash, "
    "hash, received_at, chain_ok"
)
ACCOUNT_COLUMNS = (
    "balance", "pending_json", "tier_id", "tier_progress", "expiring_points", "expiring_at",
    "has_purchased", "overdrawn", "snapshot_at", "state_json",
)  # fmt: skip
_ids = [f"0190c0de-0000-7000-8000-{i:012d}" for i in range(4)]
# A member's account state with a few lots and tier contributions (about 0.6 KB of JSON).
STATE = json.dumps({
    "lots": [[i, 12, "2026-12-16T07:10:00.000000Z", "2027-12-31T22:00:00.000000Z"] for i in _ids],
    "debt": 0, "purchased": True,
    "qualifying": [[i, "2026-12-02T07:10:00.000000Z", 1234] for i in _ids[:2]],
})  # fmt: skip
_TEMP = (
    "CREATE TEMP TABLE IF NOT EXISTS raw_accounts (member_id text, balance bigint, "
    "pending_json text, tier_id text, tier_progress bigint, expiring_points bigint, "
    "expiring_at text, has_purchased integer, overdrawn integer, snapshot_at text, "
    "state_json text) ON COMMIT DELETE ROWS"
)
_UPDATE = (
    "UPDATE members AS t SET "
    + ", ".join(f"{c} = a.{c}" for c in ACCOUNT_COLUMNS)
    + " FROM raw_accounts a WHERE t.member_id = a.member_id"
)


def account_rows(entries: Sequence[Sequence[Any]], stamp: str) -> list[tuple[Any, ...]]:
    """One account row per member the entries touch (member_id is column 3, points 5)."""
    moved: dict[str, int] = {}
    for e in entries:
        moved[e[3]] = moved.get(e[3], 0) + int(e[5])
    return [
        (m, points, "[]", "olive", 0, 0, None, 1, 0, stamp, STATE) for m, points in moved.items()
    ]


def copy_and_update(
    url: str, batches: Iterable[Sequence[Sequence[Any]]], stamp: str, accounts: bool = True,
    cluster: procstats.Postgres | None = None,
) -> tuple[float, float, int]:  # fmt: skip
    """Each batch of entry rows (ENTRY_COLUMNS' order) COPYed and, with ``accounts``, its
    members' accounts UPDATEd, one transaction per batch, into ``url`` (head office's schema,
    members present). Returns the seconds spent in the writes, PostgreSQL's CPU seconds in them
    (the whole ``cluster``'s when given, as the push's figure is; else this backend's), rows."""
    seconds, backend_cpu, rows = 0.0, 0.0, 0
    with psycopg.connect(url) as conn:
        conn.execute(_TEMP)
        conn.commit()
        pid = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
        conn.commit()

        def pg_cpu() -> float:
            return cluster.cpu() if cluster is not None else procstats.cpu_seconds(pid)

        for batch in batches:
            touched = account_rows(batch, stamp) if accounts else []
            cpu, start = pg_cpu(), time.perf_counter()
            with conn.cursor() as cur:
                with cur.copy(f"COPY entries ({ENTRY_COLUMNS}) FROM STDIN") as cp:
                    for row in batch:
                        cp.write_row(row)
                if touched:
                    with cur.copy("COPY raw_accounts FROM STDIN") as cp:
                        for row in touched:
                            cp.write_row(row)
                    cur.execute("ANALYZE raw_accounts")  # or it plans a scan of all members
                    cur.execute(_UPDATE)
                    if cur.rowcount != len(touched):
                        raise AssertionError(f"updated {cur.rowcount} of {len(touched)} accounts")
            conn.commit()
            seconds += time.perf_counter() - start
            backend_cpu += pg_cpu() - cpu
            rows += len(batch)
    return seconds, backend_cpu, rows
