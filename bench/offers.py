"""Personal offers at a chain's size on PostgreSQL: a segment's run (head office's
``offers.create``: the segment evaluated in the database, the offer given to each member
reached, their change for the feed) beside the raw SQL of the same segment in the same run, and
what the offer adds to the pull's bytes for a typical member.

    .venv/bin/python bench/offers.py [--members 200000] [--json]

The issue's size is ``--members 1000000`` (target: the segment run under 2 minutes, the pull's
bytes for a typical member no more than 20% more); the default is a fifth, for a shared 2-core
machine.

1. Prepare (not timed): a throw-away PostgreSQL (``sync.testing.TempPostgres``) with head
   office's schema; members (birthdays over the year, a tenth Oak, a fiftieth Laurel), two
   purchases each over the year before ``now`` (``entries``, kind earn) and the categories
   they bought (``member_categories``), all generated inside PostgreSQL with
   ``generate_series``; then ANALYZE.
2. Timed: for each segment, its dry run (a count) and its creation (offer_members, the feed's
   change rows), beside the raw SQL of the same segment: a hand-written ``INSERT ... SELECT``
   of the same members into a bare table; then the jobs' daily run of every segment again
   (``offers.refresh``, nobody new).
3. Pull bytes (not timed): one full pull page (2,000 members) of the members an offer reached,
   encoded as head office sends it, beside the same page without the offers (the pull before
   this change), plain and gzip-compressed; and one typical member's state alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loyalty.db import to_text  # noqa: E402
from sync import protocol as p  # noqa: E402
from sync import protocol_offers as po  # noqa: E402
from sync.headoffice import offers  # noqa: E402
from sync.headoffice.service import HeadOffice  # noqa: E402
from sync.headoffice.store import open_store  # noqa: E402
from sync.testing import TempPostgres  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
SETTINGS = {"work_mem": "64MB", "shared_buffers": "512MB"}
STAMP = '\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\''
CATEGORIES = ("fresh", "bakery", "wine", "cheese", "oil", "deli")


def load(store: Any, members: int) -> None:
    year_s = 365 * 86400
    start = f"TIMESTAMPTZ '{to_text(NOW - dt.timedelta(days=365))}'"
    cats = "ARRAY[" + ", ".join(f"'{c}'" for c in CATEGORIES) + "]"
    with store.transaction() as tx:
        tx.run(
            "INSERT INTO members (member_id, snapshot_at, display_name, language, birthday, "
            "balance, tier_id, has_purchased, enrolled_at) SELECT 'M' || lpad(i::text, 7, '0'), "
            f"'{to_text(NOW)}', 'Member ' || i, (ARRAY['en','el','pl','ro','th','fa'])[1 + i % 6], "
            "to_char(DATE '2024-01-01' + ((i * 7919) % 366)::int, 'MM-DD'), (i * 31) % 3000, "
            "CASE WHEN i % 50 = 0 THEN 'laurel' WHEN i % 10 = 0 THEN 'oak' ELSE 'olive' END, 1, "
            f"'{to_text(NOW - dt.timedelta(days=400))}' "
            f"FROM generate_series(0::bigint, {members - 1}) i"
        )
        # Two purchases a member, spread over the year: member i's at (i * k) mod the year.
        tx.run(
            "INSERT INTO entries (entry_id, terminal_id, seq, member_id, kind, points, "
            "amount_minor, currency, receipt_no, program_version, occurred_at, offline, "
            "cashier_id, reason, prev_hash, hash, received_at) "
            "SELECT 'e' || n, 'T' || (n % 100), n, 'M' || lpad((n / 2)::text, 7, '0'), 'earn', "
            "25, 2500, 'EUR', 'R' || n, 'v1', "
            f"to_char(({start} + (((n * 104729) % {year_s}) * INTERVAL '1 second')) "
            f"AT TIME ZONE 'UTC', {STAMP}), 0, 'c', 'base', 'p', 'h', '{to_text(NOW)}' "
            f"FROM generate_series(0::bigint, {2 * members - 1}) n"
        )
        tx.run(
            "INSERT INTO member_categories (member_id, category, last_day) "
            "SELECT 'M' || lpad((n / 2)::text, 7, '0'), "
            f"({cats})[1 + (n * 7) % {len(CATEGORIES)}], "
            f"to_char(DATE '{(NOW.date() - dt.timedelta(days=365)).isoformat()}' "
            "+ ((n * 104729) % 365)::int, 'YYYY-MM-DD') "
            f"FROM generate_series(0::bigint, {2 * members - 1}) n ON CONFLICT DO NOTHING"
        )
    with store.transaction() as tx:
        tx.run("ANALYZE")


# (name, segment, the raw SQL's WHERE on members m for the same members)
SEGMENTS: list[tuple[str, dict[str, Any], str]] = [
    ("birthday month", {"birthday_month": 5}, "m.birthday LIKE '05-%'"),
    (
        "bought fresh in 30 days, olive",
        {"bought_category": "fresh", "bought_days": 30, "tiers": ["olive"]},
        "(m.tier_id = 'olive' OR m.tier_id IS NULL) AND m.member_id IN (SELECT member_id FROM "
        "member_categories WHERE category = 'fresh' AND last_day > "
        f"'{(NOW.date() - dt.timedelta(days=30)).isoformat()}')",
    ),
    (
        "lapsed 120 days",
        {"lapsed_days": 120},
        "m.member_id NOT IN (SELECT member_id FROM entries WHERE kind = 'earn' AND "
        f"occurred_at >= '{to_text(NOW - dt.timedelta(days=120))}')",
    ),
]


def request(offer_id: str, segment: dict[str, Any], dry_run: bool) -> po.OfferRequest:
    return msgspec.convert(
        {
            "offer_id": offer_id,
            "name": {"en": "Your treat", "el": "Το κέρασμά σας"},
            "kind": "multiplier",
            "multiplier_percent": 300,
            "categories": ["fresh"],
            "starts": "2026-12-01",
            "ends": "2026-12-31",
            "uses": 2,
            "segment": segment,
            "dry_run": dry_run,
        },  # fmt: skip
        po.OfferRequest,
    )


def raw(store: Any, where: str) -> tuple[float, int]:
    with store.transaction() as tx:
        tx.run("CREATE TEMPORARY TABLE IF NOT EXISTS raw_reached (member_id TEXT PRIMARY KEY)")
        tx.run("TRUNCATE raw_reached")
    t0 = time.perf_counter()
    with store.transaction() as tx:
        n = tx.run(f"INSERT INTO raw_reached SELECT m.member_id FROM members m WHERE {where}")
    return time.perf_counter() - t0, n


def without_offers(answer: p.ChangesAnswer) -> bytes:
    """The page as head office sent it before personal offers: no ``offers`` anywhere."""
    doc = msgspec.to_builtins(answer)
    doc.pop("offers", None)
    doc.pop("takes_purchases", None)
    for m in doc["members"]:
        m.pop("offers", None)
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def pull_bytes(ho: HeadOffice, member_ids: list[str]) -> dict[str, Any]:
    with ho.store.transaction() as tx:
        states = ho._members(tx, member_ids)  # what a change page carries for them
        defs = offers.definitions(tx, states)
    page = p.ChangesAnswer(cursor="x" * 60, more=True, members=states, offers=defs,
                           server_time=to_text(NOW), takes_phone_rehashes=True,
                           takes_purchases=True)  # fmt: skip
    with_bytes = p.encode(page)
    before = without_offers(page)
    one = p.encode(states[len(states) // 2])
    one_before = json.dumps(
        {k: v for k, v in msgspec.to_builtins(states[len(states) // 2]).items() if k != "offers"},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    return {
        "page_members": len(states),
        "page_bytes": len(with_bytes),
        "page_bytes_before": len(before),
        "page_growth_percent": round(100 * (len(with_bytes) / len(before) - 1), 1),
        "page_gzip": len(gzip.compress(with_bytes, 6)),
        "page_gzip_before": len(gzip.compress(before, 6)),
        "member_bytes": len(one),
        "member_bytes_before": len(one_before),
        "member_growth_percent": round(100 * (len(one) / len(one_before) - 1), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pg = TempPostgres(SETTINGS)
    try:
        store = open_store(pg.empty_database("offers_bench"))
        ho = HeadOffice(store, admin_token="bench", clock=lambda: NOW)
        ho.publish_program((ROOT / "fixtures" / "program.toml").read_text(encoding="utf-8"))
        t0 = time.perf_counter()
        load(store, args.members)
        out: dict[str, Any] = {
            "members": args.members, "load_s": round(time.perf_counter() - t0, 1),
            "segments": [],
        }  # fmt: skip
        reached_ids: list[str] = []
        for i, (name, segment, where) in enumerate(SEGMENTS):
            t0 = time.perf_counter()
            dry = offers.create(ho, request(f"o{i}", segment, True))
            dry_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            made = offers.create(ho, request(f"o{i}", segment, False))
            create_s = time.perf_counter() - t0
            raw_s, raw_n = raw(store, where)
            out["segments"].append({
                "segment": name, "reached": made.reached, "raw_reached": raw_n,
                "dry_run_s": round(dry_s, 2), "create_s": round(create_s, 2),
                "raw_sql_s": round(raw_s, 2), "warning": dry.warning,
            })  # fmt: skip
            if not reached_ids:
                with store.transaction() as tx:
                    reached_ids = [r[0] for r in tx.all(
                        "SELECT member_id FROM offer_members WHERE offer_id = ? "
                        "ORDER BY member_id LIMIT 2000", (f"o{i}",))]  # fmt: skip
        t0 = time.perf_counter()
        again = offers.refresh(ho)  # the daily job: every running segment again, none new
        out["refresh_s"], out["refresh_given"] = round(time.perf_counter() - t0, 2), again
        out["pull"] = pull_bytes(ho, reached_ids)
        store.close()
    finally:
        pg.stop()
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"members {args.members:,} (loaded in {out['load_s']} s, not timed)")
    for s in out["segments"]:
        print(f"  {s['segment']:<32} reached {s['reached']:>9,}  dry run {s['dry_run_s']:6.2f} s"
              f"  create {s['create_s']:6.2f} s   raw SQL {s['raw_sql_s']:6.2f} s"
              f" ({s['raw_reached']:,})")  # fmt: skip
    print(f"  the jobs' run of all {len(out['segments'])} segments again: "
          f"{out['refresh_s']} s ({out['refresh_given']} new)")  # fmt: skip
    u = out["pull"]
    print(f"  pull page of {u['page_members']:,} members: {u['page_bytes']:,} B "
          f"(before offers {u['page_bytes_before']:,} B, +{u['page_growth_percent']}%), "
          f"gzip {u['page_gzip']:,} B (before {u['page_gzip_before']:,} B)")  # fmt: skip
    print(f"  one member's state: {u['member_bytes']} B (before {u['member_bytes_before']} B, "
          f"+{u['member_growth_percent']}%)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
