"""Referral codes for a chain from before codes existed, on PostgreSQL: head office gives each
member a code the first time it sends them (sync/headoffice/referrals.py ``with_codes``), so a
till's first full pull after the upgrade writes a code per member. This measures that full
pull, then the same pull again (codes only read), beside the raw SQL of the pull's member
pages (the members' rows in pages of 2,000, no codes) in the same run, and what a code adds to
a member's state on the wire.

    .venv/bin/python bench/referral_codes.py [--members 100000] [--json]

1. Prepare (not timed): a throw-away PostgreSQL (``sync.testing.TempPostgres``) with head
   office's schema and ``--members`` members generated with ``generate_series``; ANALYZE.
2. Timed: the raw pages (``SELECT`` of the member columns by member id, 2,000 a page); head
   office's full pull (``HeadOffice.changes`` from an empty cursor, 2,000 a page) giving every
   member a code; the same full pull again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loyalty.db import to_text  # noqa: E402
from sync import protocol as p  # noqa: E402
from sync.headoffice.rows import _MEMBER_COLUMNS  # noqa: E402
from sync.headoffice.service import HeadOffice  # noqa: E402
from sync.headoffice.store import open_store  # noqa: E402
from sync.testing import TempPostgres  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
PAGE = 2000
SETTINGS = {"shared_buffers": "256MB", "synchronous_commit": "off"}


def load(store: Any, members: int) -> None:
    with store.transaction() as tx:
        tx.run(
            "INSERT INTO members (member_id, snapshot_at, display_name, language, balance, "
            "tier_id, has_purchased) SELECT 'M' || lpad(i::text, 7, '0'), "
            f"'{to_text(NOW)}', 'Member ' || i, 'en', (i * 31) % 3000, 'olive', 1 "
            f"FROM generate_series(0::bigint, {members - 1}) i"
        )
    with store.transaction() as tx:
        tx.run("ANALYZE")


def raw_pages(store: Any) -> tuple[float, int]:
    t0, after, n = time.perf_counter(), "", 0
    while True:
        with store.transaction() as tx:
            rows = tx.all(
                f"SELECT {_MEMBER_COLUMNS} FROM members WHERE member_id > ? AND erased = 0 "
                "ORDER BY member_id LIMIT ?",
                (after, PAGE),
            )
        n += len(rows)
        if len(rows) < PAGE:
            return time.perf_counter() - t0, n
        after = rows[-1][0]


def full_pull(ho: HeadOffice) -> tuple[float, int, int]:
    t0, cursor, n, coded = time.perf_counter(), "", 0, 0
    while True:
        page = ho.changes(cursor, PAGE)
        n += len(page.members)
        coded += sum(1 for m in page.members if m.referral_code)
        cursor = page.cursor
        if len(page.members) < PAGE:  # the last page of the members' snapshot
            return time.perf_counter() - t0, n, coded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pg = TempPostgres(SETTINGS)
    try:
        store = open_store(pg.empty_database("referral_codes_bench"))
        ho = HeadOffice(store, admin_token="bench", clock=lambda: NOW)
        ho.publish_program((ROOT / "fixtures" / "program.toml").read_text(encoding="utf-8"))
        load(store, args.members)
        raw_s, raw_n = raw_pages(store)
        first_s, first_n, first_coded = full_pull(ho)
        again_s, again_n, _ = full_pull(ho)
        state = p.MemberState("M0000001", to_text(NOW), display_name="Member 1", balance=31,
                              tier_id="olive", has_purchased=True)  # fmt: skip
        # Before referrals the state had no such field at all; now it is null until given.
        before = len(p.encode(state)) - len(b',"referral_code":null')
        after = len(p.encode(msgspec.structs.replace(state, referral_code="K7QM4XR5")))
        out = {
            "members": args.members,
            "raw_pages_s": round(raw_s, 2), "raw_members": raw_n,
            "first_pull_s": round(first_s, 2), "first_pull_members": first_n,
            "codes_given": first_coded,
            "pull_again_s": round(again_s, 2), "pull_again_members": again_n,
            "state_bytes_before_codes": before, "state_bytes_with_code": after,
        }  # fmt: skip
    finally:
        pg.stop()
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>22}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
