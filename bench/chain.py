"""A chain's night: many tills push a day of sales each to head office on PostgreSQL.

    .venv/bin/python bench/chain.py [--tills 100] [--sales 5000] [--members 200000]
        [--window 30] [--servers 2] [--concurrency 32] [--partitions 0] [--json]

The issue's size is ``--tills 1000 --sales 5000`` (5 million sales, about 7.5 million entries);
the default is a tenth of the tills so it finishes in a few minutes on a shared 2-core machine.

Real parts only: a throw-away PostgreSQL (``sync.testing.TempPostgres``, fsync=off like the
tests' one), head office as ``--servers`` real server processes on 127.0.0.1 sharing that
database, and real HTTP pushes (each till its own token, gzip bodies at the till's level, an
Idempotency-Key per batch, batches of 5,000 entries in seq order).

1. Prepare (not timed): members and tills registered at head office; each till's day generated
   by worker processes as the wire batches the till would send. A sale's entries come from the
   program's own rules (``loyalty.rules.price`` and ``earn`` and the sale's entry builder):
   earn, tier and promotion bonuses, reward redemptions, donations and points payments, over
   random baskets and members; entry ids, seqs and the hash chain as a till makes them.
2. Raw baselines (timed): the same rows with PostgreSQL's COPY into an empty database of the
   same schema, one COPY and one transaction per batch; and the two-write baseline
   (bench/two_writes.py): the same COPY plus a raw UPDATE of the accounts each batch touches,
   which is what a push must at least write.
3. The night (timed): every till starts at ``sync.runner.nightly_offset`` in the nightly
   window, compressed to ``--window`` seconds, and pushes its batches one after another; at
   most ``--concurrency`` tills are connected at once (the others wait for a connection, as
   tills would in a server's accept queue). Busy answers are retried with the same key.
4. Check: every entry stored exactly once (counts, distinct ids, each till's last seq).

Printed: entries/s ingested (first till's arrival to the last answer), p50/p99 push latency,
each till's whole sync (arrival to done), head office's CPU seconds and peak RSS (per server
process), PostgreSQL's CPU seconds (postmaster and all its backends) and peak memory (the sum
of its processes' proportional set size, so shared buffers count once), the machine's load.

``--partitions N`` creates head office's entries table hash-partitioned by terminal_id into N
partitions first (see docs/scaling.md for why hash by till, not by date or member).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gzip
import json
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import msgspec  # noqa: E402
import psycopg  # noqa: E402

from loyalty.db import to_text  # noqa: E402
from loyalty.errors import LoyaltyError  # noqa: E402
from loyalty.ledger import GENESIS, new_entry_id  # noqa: E402
from loyalty.program import Program, parse_program  # noqa: E402
from loyalty.rules import BasketLine, MemberContext, earn, price  # noqa: E402
from loyalty.sales import _entries  # noqa: E402
from sync import protocol as p  # noqa: E402
from sync.headoffice.service import HeadOffice  # noqa: E402
from sync.headoffice.store import open_store  # noqa: E402
from sync.runner import nightly_offset  # noqa: E402
from sync.testing import ServerProcess, TempPostgres  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import two_writes  # noqa: E402
from procstats import (  # noqa: E402
    Postgres,
    Sampler,
    cpu_seconds,
    hwm_kb,
    machine_shares,
    machine_ticks,
)

PROGRAM_TEXT = (ROOT / "fixtures" / "program.toml").read_text(encoding="utf-8")
ADMIN = "chain-admin"
DAY = dt.datetime(2026, 11, 18, 6, 0, tzinfo=dt.UTC)  # a Wednesday: 08:00 in Athens
SHOP_HOURS = dt.timedelta(hours=12)
NIGHT_WINDOW = dt.timedelta(hours=2)  # sync.runner.BackgroundSync's default nightly window
# A chain's head office database server is set up for its tables, not left at the stock
# 128 MB of shared buffers and 1 GB of WAL between checkpoints: a night's entries and their
# indexes are 5.7 GB, so with the stock settings most inserts evict a page, and each
# checkpoint makes every page's next change log the whole page again. 8 GB is a third of this
# 24 GB machine. The raw COPY baseline runs on the same server; ``--pg-stock`` measures
# PostgreSQL's stock settings instead.
CHAIN_SERVER = {"shared_buffers": "8GB", "max_wal_size": "16GB", "checkpoint_timeout": "30min"}
CATEGORIES = ["fresh"] * 5 + ["grocery"] * 5 + ["bakery"] * 3 + ["wine"] * 2 + ["tobacco"]

Template = tuple[tuple[str, int, int, str | None, str], ...]  # kind, points, amount, reward, reason


# -- a day of sales as the tills would push it ------------------------------------------------
def sale_templates(program: Program, n: int, seed: int) -> list[Template]:
    """``n`` sales' entries from the program's rules: random baskets, tiers, a few birthdays and
    first purchases, rewards on 4% of sales and points payments on 2%."""
    rng = random.Random(seed)
    rewards = [r.id for r in program.rewards]
    out: list[Template] = []
    while len(out) < n:
        lines = tuple(
            BasketLine(f"SKU{rng.randrange(5000)}", rng.choice(CATEGORIES), rng.randrange(80, 4000))
            for _ in range(rng.randint(1, 6))
        )
        tier = rng.choices(["olive", "oak", "laurel"], [70, 22, 8])[0]
        birthday = DAY.strftime("%m-%d") if rng.random() < 0.01 else None
        member = MemberContext(tier, birthday, rng.random() > 0.03)
        reward = rng.choice(rewards) if rng.random() < 0.04 else None
        payment = rng.randrange(100, 600, 10) if rng.random() < 0.02 else 0
        try:
            pricing = price(program, lines, reward, payment, tier)
        except LoyaltyError:
            continue  # this reward or payment does not fit this basket: the till would refuse
        earned = earn(program, lines, pricing.paid_minor, member, DAY + SHOP_HOURS / 2)
        new = _entries("M", "R", pricing, earned)
        out.append(tuple((e.kind, e.points, e.amount_minor, e.reward_id, e.reason) for e in new))
    return out


def till_id(i: int) -> str:
    return f"T{i:05d}"


def make_till_day(job: tuple[str, int, int, int, int, str, str, list[Template]]) -> int:
    """One till's day as gzip push bodies (msgpack file: [[key, gz, first, last], ...])."""
    terminal_id, index, sales, members, batch, version, path, templates = job
    rng = random.Random(index)
    encoder = msgspec.json.Encoder()
    cashier = f"c{index % 7}"
    step = SHOP_HOURS / max(1, sales)
    prev, seq = GENESIS, 0
    entries: list[p.WireEntry] = []
    for s in range(sales):
        member = f"M{rng.randrange(members):07d}"
        receipt = f"{terminal_id}-{s + 1:06d}"
        occurred = to_text(DAY + step * s + dt.timedelta(microseconds=rng.randrange(1000)))
        for kind, points, amount, reward_id, reason in templates[rng.randrange(len(templates))]:
            seq += 1
            e = p.WireEntry(
                entry_id=new_entry_id(), terminal_id=terminal_id, seq=seq, member_id=member,
                kind=kind, points=points, amount_minor=amount, currency="EUR",  # type: ignore[arg-type]
                receipt_no=receipt, reverses=None, reward_id=reward_id, program_version=version,
                occurred_at=occurred, offline=True, cashier_id=cashier, reason=reason,
                prev_hash=prev, hash="",
            )  # fmt: skip
            e.hash = p.chain_hash(prev, e)
            prev = e.hash
            entries.append(e)
    batches = []
    for i in range(0, len(entries), batch):
        chunk = entries[i : i + batch]
        body = encoder.encode(p.PushRequest(terminal_id=terminal_id, entries=chunk))
        gz = gzip.compress(body, 2, mtime=0)  # the till's level (SyncClient.gzip_level)
        batches.append([p.idempotency_key(body), gz, chunk[0].seq, chunk[-1].seq])
    Path(path).write_bytes(msgspec.msgpack.encode(batches))
    return len(entries)


def read_batches(path: Path) -> list[tuple[str, bytes, int, int]]:
    return [tuple(b) for b in msgspec.msgpack.decode(path.read_bytes())]  # type: ignore[misc]


# -- head office's database --------------------------------------------------------------------
def partitioned_entries(url: str, partitions: int) -> None:
    """Head office's entries table hash-partitioned by terminal_id, created before the store
    creates the rest. PostgreSQL requires every unique constraint of a partitioned table to
    hold the partition key: (terminal_id, seq) does; entry_id alone cannot, so it becomes
    (entry_id, terminal_id) (entry id first: look-ups by entry id use it), and the identity
    key (terminal_id, id)."""
    cols = """
        id BIGINT GENERATED ALWAYS AS IDENTITY, entry_id TEXT NOT NULL,
        terminal_id TEXT NOT NULL, seq BIGINT NOT NULL, member_id TEXT NOT NULL,
        kind TEXT NOT NULL, points BIGINT NOT NULL, amount_minor BIGINT NOT NULL,
        currency TEXT NOT NULL, receipt_no TEXT, reverses TEXT, reward_id TEXT,
        program_version TEXT NOT NULL, occurred_at TEXT NOT NULL, offline INTEGER NOT NULL,
        cashier_id TEXT NOT NULL, reason TEXT NOT NULL, prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL, received_at TEXT NOT NULL, chain_ok INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (terminal_id, id), UNIQUE (entry_id, terminal_id), UNIQUE (terminal_id, seq)
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE entries ({cols}) PARTITION BY HASH (terminal_id)")
        for r in range(partitions):
            conn.execute(
                f"CREATE TABLE entries_p{r} PARTITION OF entries "
                f"FOR VALUES WITH (MODULUS {partitions}, REMAINDER {r})"
            )


def top_statements(url: str, entries: int) -> list[str]:
    """The night's statements by PostgreSQL's time in them, per entry ingested."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT total_exec_time + total_plan_time, calls, query FROM pg_stat_statements "
            "ORDER BY 1 DESC LIMIT 12"
        ).fetchall()
    return [
        f"{ms * 1000 / entries:7.1f} us/entry {calls:7,} calls  {' '.join(q.split())[:90]}"
        for ms, calls, q in rows
    ]


def prepare_headoffice(url: str, members: int, tills: int) -> list[str]:
    """Program, members (inserted raw) and till tokens; returns the tokens in till order."""
    ho = HeadOffice(open_store(url), admin_token=ADMIN)
    ho.publish_program(PROGRAM_TEXT)
    stamp = to_text(DAY)
    with ho.store.transaction() as tx:
        cur = tx.conn.cursor()
        with cur.copy(
            "COPY members (member_id, card_number, display_name, snapshot_at) FROM STDIN"
        ) as cp:
            for j in range(members):
                cp.write_row((f"M{j:07d}", f"9{j:015d}", f"Member {j}", stamp))
    tokens = [ho.register_till(till_id(i)) for i in range(tills)]
    with ho.store.transaction() as tx:
        tx.conn.execute("ANALYZE")
    ho.store.close()
    return tokens


def batch_rows(files: list[Path], stamp: str) -> Iterator[list[tuple[Any, ...]]]:
    """Each till's batches, one after another, as head office's entry rows."""
    decoder = msgspec.json.Decoder(p.PushRequest)
    for path in files:
        for _key, gz, _first, _last in read_batches(path):
            req = decoder.decode(gzip.decompress(gz))
            yield [
                (e.entry_id, e.terminal_id, e.seq, e.member_id, e.kind, e.points,
                 e.amount_minor, e.currency, e.receipt_no, e.reverses, e.reward_id,
                 e.program_version, e.occurred_at, int(e.offline), e.cashier_id, e.reason,
                 e.prev_hash, e.hash, stamp, 1)
                for e in req.entries
            ]  # fmt: skip


def raw_copy(url: str, files: list[Path], cluster: Postgres) -> tuple[float, float, int]:
    """COPY the same rows into an empty head-office database, one COPY and transaction per
    batch: seconds (COPY only), PostgreSQL's CPU seconds, rows."""
    open_store(url).close()
    stamp = to_text(dt.datetime.now(dt.UTC))
    return two_writes.copy_and_update(url, batch_rows(files, stamp), stamp, False, cluster)


def raw_two_writes(
    url: str, files: list[Path], members: int, cluster: Postgres
) -> tuple[float, float, int]:
    """The two-write baseline (bench/two_writes.py): per batch, COPY of its entries plus a
    raw UPDATE of its members' accounts, into a head-office database holding the members."""
    prepare_headoffice(url, members, 0)
    stamp = to_text(dt.datetime.now(dt.UTC))
    return two_writes.copy_and_update(url, batch_rows(files, stamp), stamp, True, cluster)


# -- the night ------------------------------------------------------------------------------------
class _Result(msgspec.Struct):
    status: str


class _Answer(msgspec.Struct):
    acked_seq: int
    results: list[_Result]


_answer = msgspec.json.Decoder(_Answer)


class Night:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.durations: list[float] = []
        self.retries = 0
        self.stored = 0
        self.duplicates = 0
        self.replays = 0
        self.first_start = float("inf")
        self.last_end = 0.0


async def till_night(
    client: httpx.AsyncClient, url: str, terminal_id: str, token: str, path: Path,
    delay: float, gate: asyncio.Semaphore, night: Night, t0: float, replay: bool,
) -> None:  # fmt: skip
    await asyncio.sleep(delay)
    arrived = time.perf_counter()
    batches = await asyncio.to_thread(read_batches, path)
    first_answer = b""
    if replay:  # the first batch again at the end, as after a lost answer: the same answer
        batches = [*batches, batches[0]]
    async with gate:
        night.first_start = min(night.first_start, time.perf_counter() - t0)
        for n, (key, gz, _first, last) in enumerate(batches):
            headers = {
                "Authorization": f"Bearer {token}", "Content-Encoding": "gzip",
                "Content-Type": "application/json", p.IDEMPOTENCY_HEADER: key,
            }  # fmt: skip
            for attempt in range(8):
                start = time.perf_counter()
                r = await client.post(f"{url}/v1/push", content=gz, headers=headers)
                if r.status_code == 200:
                    night.latencies.append(time.perf_counter() - start)
                    break
                if r.status_code not in (429, 500, 502, 503, 504) or attempt == 7:
                    raise RuntimeError(f"{terminal_id}: push answered {r.status_code} {r.text}")
                night.retries += 1
                await asyncio.sleep(float(r.headers.get("retry-after", "1")) * random.random())
            if replay and n == len(batches) - 1:
                if r.content != first_answer:
                    raise RuntimeError(f"{terminal_id}: a replayed batch got another answer")
                night.replays += 1
                continue
            first_answer = first_answer or r.content
            answer = _answer.decode(r.content)
            if answer.acked_seq != last:
                raise RuntimeError(f"{terminal_id}: acked {answer.acked_seq}, sent up to {last}")
            for res in answer.results:
                if res.status == "stored":
                    night.stored += 1
                elif res.status == "duplicate":
                    night.duplicates += 1
                else:
                    raise RuntimeError(f"{terminal_id}: an entry came back {res.status}")
        night.last_end = max(night.last_end, time.perf_counter() - t0)
    night.durations.append(time.perf_counter() - arrived)


async def run_night(
    urls: list[str],
    tokens: list[str],
    files: list[Path],
    window: float,
    concurrency: int,
    replay: bool = False,
) -> Night:
    night = Night()
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(connect=10, read=600, write=60, pool=600)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        t0 = time.perf_counter()
        scale = window / NIGHT_WINDOW.total_seconds()
        jobs = [
            till_night(
                client,
                urls[i % len(urls)],
                till_id(i),
                tokens[i],
                files[i],
                nightly_offset(till_id(i), NIGHT_WINDOW).total_seconds() * scale,
                gate,
                night,
                t0,
                replay,
            )  # fmt: skip
            for i in range(len(files))
        ]
        await asyncio.gather(*jobs)
    return night


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def verify(url: str, expected: dict[str, int]) -> dict[str, int]:
    """Exactly once: as many rows as entries, distinct ids and (till, seq), each till's last seq.
    (Head office's own entries, ``@headoffice``, taking back once-only bonuses that two tills
    both paid, are not the tills' and not counted.)"""
    with psycopg.connect(url) as conn:
        total, ids, pairs = conn.execute(
            "SELECT count(*), count(DISTINCT entry_id), count(DISTINCT (terminal_id, seq)) "
            "FROM entries WHERE terminal_id <> '@headoffice'"
        ).fetchone()  # type: ignore[misc]
        per_till = dict(
            conn.execute(
                "SELECT terminal_id, max(seq) FROM entries WHERE terminal_id <> '@headoffice' "
                "GROUP BY terminal_id"
            )
        )
        overdrafts = conn.execute("SELECT count(*) FROM overdrafts").fetchone()
        size = conn.execute(
            "SELECT sum(pg_total_relation_size(oid)) FROM pg_class "
            "WHERE relkind = 'r' AND relname ~ '^entries(_p[0-9]+)?$'"
        ).fetchone()
    want = sum(expected.values())
    if not (total == ids == pairs == want) or per_till != expected:
        raise AssertionError(f"stored {total} rows, {ids} ids, {pairs} seqs; expected {want}")
    return {
        "rows": int(total),
        "overdrafts": int(overdrafts[0]) if overdrafts else 0,
        "bytes": int(size[0]) if size and size[0] else 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tills", type=int, default=100)
    parser.add_argument("--sales", type=int, default=5000, help="per till")
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--window", type=float, default=30.0,
                        help="seconds the 2-hour nightly window is compressed to")  # fmt: skip
    parser.add_argument("--servers", type=int, default=2, help="head office processes")
    parser.add_argument("--concurrency", type=int, default=32, help="tills connected at once")
    parser.add_argument("--batch", type=int, default=p.MAX_BATCH)
    parser.add_argument("--partitions", type=int, default=0, help="hash-partition entries")
    parser.add_argument("--templates", type=int, default=5000)
    parser.add_argument("--no-copy", action="store_true", help="skip the raw COPY baseline")
    parser.add_argument("--replay", action="store_true",
                        help="each till resends its first batch at the end (same key)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--statements", action="store_true",
                        help="print PostgreSQL's time in each statement")  # fmt: skip
    parser.add_argument("--pg-stock", action="store_true",
                        help="PostgreSQL's stock settings instead of CHAIN_SERVER's")  # fmt: skip
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-chain-"))
    settings = {} if args.pg_stock else dict(CHAIN_SERVER)
    if args.statements:
        settings["shared_preload_libraries"] = "pg_stat_statements"
    pg = TempPostgres(settings)
    servers: list[ServerProcess] = []
    statements: list[str] = []
    try:
        program = parse_program(PROGRAM_TEXT, "bench")
        t = time.perf_counter()
        templates = sale_templates(program, args.templates, seed=7)
        files = [tmp / f"{till_id(i)}.msgpack" for i in range(args.tills)]
        jobs = [
            (till_id(i), i, args.sales, args.members, args.batch, program.version, str(files[i]),
             templates)
            for i in range(args.tills)
        ]  # fmt: skip
        with multiprocessing.get_context("fork").Pool(os.cpu_count() or 2) as pool:
            counts = pool.map(make_till_day, jobs, chunksize=1)
        expected = {till_id(i): n for i, n in enumerate(counts)}
        entries = sum(counts)
        generate_s = time.perf_counter() - t

        copy_s, copy_cpu, copy_rows = 0.0, 0.0, 0
        two_s, two_cpu, two_rows = 0.0, 0.0, 0
        if not args.no_copy:
            cluster = Postgres(pg.dir / "data")
            copy_s, copy_cpu, copy_rows = raw_copy(pg.new_database(), files, cluster)
            two_s, two_cpu, two_rows = raw_two_writes(
                pg.new_database(), files, args.members, cluster
            )
        url = pg.new_database()
        if args.partitions:
            partitioned_entries(url, args.partitions)
        tokens = prepare_headoffice(url, args.members, args.tills)
        with psycopg.connect(pg.url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
        if args.statements:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                conn.execute("SELECT pg_stat_statements_reset()")

        servers = [ServerProcess(url, ADMIN) for _ in range(args.servers)]
        urls = [s.start() for s in servers]
        pids = [s.proc.pid for s in servers if s.proc is not None]
        pgstat = Postgres(pg.dir / "data")
        load_before = os.getloadavg()
        cpu_before = [cpu_seconds(pid) for pid in pids]
        pg_before = pgstat.cpu()
        own_before, ticks_before = cpu_seconds(os.getpid()), machine_ticks()
        sampler = Sampler(pgstat, pids)
        sampler.start()
        night = asyncio.run(
            run_night(urls, tokens, files, args.window, args.concurrency, args.replay)
        )
        shares = machine_shares(ticks_before, machine_ticks())
        sampler.stop_event.set()
        sampler.join()
        own_cpu = cpu_seconds(os.getpid()) - own_before
        load_after = os.getloadavg()
        server_cpu = sum(cpu_seconds(pid) - b for pid, b in zip(pids, cpu_before, strict=True))
        server_hwm = [hwm_kb(pid) / 1024 for pid in pids]
        pg_cpu = pgstat.cpu() - pg_before
        if args.statements:
            statements = top_statements(url, entries)
        checked = verify(url, expected)
        busy = night.last_end - night.first_start
    finally:
        for s in servers:
            s.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    rate = entries / busy
    copy_rate = copy_rows / copy_s if copy_s else 0.0
    two_rate = two_rows / two_s if two_s else 0.0
    sales_total = args.tills * args.sales
    full_entries = entries / sales_total * 5_000_000
    result: dict[str, Any] = {
        "tills": args.tills, "sales": sales_total, "entries": entries,
        "entries_per_sale": round(entries / sales_total, 3), "members": args.members,
        "servers": args.servers, "concurrency": args.concurrency, "window_s": args.window,
        "partitions": args.partitions, "generate_s": round(generate_s, 1),
        "ingest_s": round(busy, 1), "entries_per_s": round(rate),
        "copy_entries_per_s": round(copy_rate), "ratio_to_copy": round(rate / copy_rate, 3)
        if copy_rate else None,
        "copy_pg_cpu_us_per_entry": round(copy_cpu * 1e6 / copy_rows, 1) if copy_rows else None,
        "two_writes_entries_per_s": round(two_rate),
        "ratio_to_two_writes": round(rate / two_rate, 3) if two_rate else None,
        "two_writes_pg_cpu_us_per_entry": round(two_cpu * 1e6 / two_rows, 1)
        if two_rows else None,
        "headoffice_cpu_us_per_entry": round(server_cpu * 1e6 / entries, 1),
        "postgres_cpu_us_per_entry": round(pg_cpu * 1e6 / entries, 1),
        "push_p50_ms": round(percentile(night.latencies, 0.5) * 1000),
        "push_p99_ms": round(percentile(night.latencies, 0.99) * 1000),
        "pushes": len(night.latencies), "retries": night.retries,
        "till_sync_p99_s": round(percentile(night.durations, 0.99), 1),
        "stored": night.stored, "duplicates": night.duplicates, "replays": night.replays,
        "verified_rows": checked["rows"],
        "overdraft_flags": checked["overdrafts"],
        "entries_table_bytes_per_row": round(checked["bytes"] / max(1, checked["rows"])),
        "headoffice_cpu_s": round(server_cpu, 1),
        "headoffice_peak_rss_mb": [round(x) for x in server_hwm],
        "headoffice_peak_pss_mb_sum": round(sampler.server_peak_kb / 1024),
        "postgres_cpu_s": round(pg_cpu, 1),
        "postgres_peak_pss_mb": round(sampler.pg_peak_kb / 1024),
        "tills_cpu_s": round(own_cpu - sampler.cpu_s, 1),
        "sampler_cpu_s": round(sampler.cpu_s, 1),
        "machine_cpu_shares": {k: round(v, 3) for k, v in shares.items()},
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "full_night_min_at_this_rate": round(full_entries / rate / 60, 1),
    }  # fmt: skip
    if args.json:
        print(json.dumps(result))
        return 0
    pushes = f"{len(night.latencies):,} pushes of up to {args.batch:,} entries"
    pg_mb = sampler.pg_peak_kb / 1024
    full_min = result["full_night_min_at_this_rate"]
    rows = [
        ("tills x sales per till", f"{args.tills:,} x {args.sales:,}",
         f"{entries:,} entries ({entries / sales_total:.2f} per sale), {args.members:,} members"),
        ("ingested entries/s (first push to last answer)", f"{rate:,.0f}",
         f"{busy:.1f} s; {args.servers} head office process(es), {args.concurrency} tills at once"),
        ("raw COPY entries/s (same rows, same PostgreSQL)", f"{copy_rate:,.0f}",
         f"ingest is {rate / copy_rate:.0%} of it; PostgreSQL CPU "
         f"{result['copy_pg_cpu_us_per_entry']} us an entry" if copy_rate else "skipped"),
        ("two-write baseline entries/s (COPY + UPDATE accounts)", f"{two_rate:,.0f}",
         f"ingest is {rate / two_rate:.0%} of it (target >= 50%); PostgreSQL CPU "
         f"{result['two_writes_pg_cpu_us_per_entry']} us an entry" if two_rate else "skipped"),
        ("CPU per entry ingested: head office / PostgreSQL, us",
         f"{result['headoffice_cpu_us_per_entry']} / {result['postgres_cpu_us_per_entry']}",
         "all head office processes / postmaster and backends"),
        ("push latency p50 / p99, ms", f"{result['push_p50_ms']} / {result['push_p99_ms']}",
         f"{pushes}, {night.retries} retried"),
        ("a till's whole push p99 (arrival to done), s", f"{result['till_sync_p99_s']}",
         f"window compressed to {args.window:.0f} s"),
        ("head office CPU s / peak RSS MB", f"{server_cpu:.0f} / {max(server_hwm):.0f}",
         "per process: " + ", ".join(f"{x:.0f}" for x in server_hwm)),
        ("PostgreSQL CPU s / peak memory MB (PSS)", f"{pg_cpu:.0f} / {pg_mb:.0f}",
         "postmaster and backends"),
        ("stored exactly once", f"{checked['rows']:,}",
         f"{night.duplicates} duplicates answered; {checked['overdrafts']:,} overdraft flags"),
        ("entries table with its indexes, bytes per entry",
         f"{result['entries_table_bytes_per_row']:,}", f"{checked['bytes'] / 2**20:,.0f} MB"),
        ("the simulated tills' CPU s (this process)", f"{own_cpu - sampler.cpu_s:.0f}",
         f"sending, reading answers; and {sampler.cpu_s:.0f} s reading memory use"),
        ("machine's CPU in the night: busy / idle / iowait / steal",
         " / ".join(f"{shares[k]:.0%}" for k in ("busy", "idle", "iowait", "steal")),
         "all cores; steal: taken by the hypervisor"),
        ("load average before / after", f"{load_before[0]:.2f} / {load_after[0]:.2f}",
         f"{os.cpu_count()} cores (shared)"),
        ("whole chain's night (5M sales) at this rate, min", f"{full_min}",
         f"~{full_entries / 1e6:.1f}M entries; target < 10 min"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>14}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")
    if args.statements:
        print("\nPostgreSQL's time (planning and executing) per statement, per entry ingested:")
        print("\n".join(statements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
