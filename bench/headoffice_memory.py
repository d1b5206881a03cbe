"""Head office's memory over a night, on a short run: one head office (in this process, on a
throw-away PostgreSQL) takes chain.py's tills' days, pushed by a pool of threads as Starlette's
thread pool would run them, and this prints the process's RSS and the Python heap
(tracemalloc) after each group of tills, then the lines that hold most of the heap.

    .venv/bin/python bench/headoffice_memory.py [--tills 40] [--sales 2000] [--members 50000]
        [--threads 32] [--no-trace]

RSS growing while the traced heap stays flat is the allocator's (memory freed by Python but
kept by glibc): head office's server sets malloc up at start (sync/headoffice/allocator.py),
and so does this; ``--glibc-defaults`` leaves glibc's defaults, to compare.
``--no-trace``: RSS only (tracemalloc itself costs memory and time).
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing
import os
import sys
import tempfile
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import chain  # noqa: E402

from loyalty.program import parse_program  # noqa: E402
from sync.headoffice.allocator import bound_allocator  # noqa: E402
from sync.headoffice.service import HeadOffice  # noqa: E402
from sync.headoffice.store import open_store  # noqa: E402
from sync.testing import TempPostgres  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tills", type=int, default=40)
    parser.add_argument("--sales", type=int, default=2000)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--no-trace", action="store_true")
    parser.add_argument(
        "--glibc-defaults", action="store_true", help="leave malloc as glibc sets it"
    )
    args = parser.parse_args()
    print("allocator:", "glibc's defaults" if args.glibc_defaults else bound_allocator())
    tmp = Path(tempfile.mkdtemp(prefix="bench-homem-"))
    pg = TempPostgres(chain.CHAIN_SERVER)
    try:
        program = parse_program(chain.PROGRAM_TEXT, "bench")
        templates = chain.sale_templates(program, 2000, seed=7)
        files = [tmp / f"{chain.till_id(i)}.msgpack" for i in range(args.tills)]
        jobs = [
            (chain.till_id(i), i, args.sales, args.members, 5000, program.version, str(files[i]),
             templates)
            for i in range(args.tills)
        ]  # fmt: skip
        with multiprocessing.get_context("fork").Pool(os.cpu_count() or 2) as pool:
            pool.map(make_day, jobs, chunksize=1)
        url = pg.new_database()
        chain.prepare_headoffice(url, args.members, args.tills)
        ho = HeadOffice(open_store(url), admin_token=chain.ADMIN)

        def till_night(i: int) -> None:
            for key, gz, _first, _last in chain.read_batches(files[i]):
                ho.push_gzip(chain.till_id(i), gzip.decompress(gz), key)

        if not args.no_trace:
            tracemalloc.start(8)
        print(f"{'tills':>6}  {'RSS MB':>7}  {'heap MB':>8}  {'heap peak MB':>12}")
        print(f"{0:>6}  {rss_mb():>7.0f}")
        step = max(1, args.tills // args.groups)
        with ThreadPoolExecutor(args.threads) as threads:
            for start in range(0, args.tills, step):
                list(threads.map(till_night, range(start, min(args.tills, start + step))))
                heap, peak = tracemalloc.get_traced_memory() if not args.no_trace else (0, 0)
                print(f"{min(args.tills, start + step):>6}  {rss_mb():>7.0f}  "
                      f"{heap / 2**20:>8.1f}  {peak / 2**20:>12.1f}")  # fmt: skip
        if not args.no_trace:
            print("\nThe heap's largest holders (by line):")
            for stat in tracemalloc.take_snapshot().statistics("lineno")[:12]:
                print(f"  {stat.size / 2**20:7.1f} MB {stat.count:>8,}  {stat.traceback[0]}")
        ho.store.close()
    finally:
        pg.stop()
    return 0


def make_day(job: tuple[str, int, int, int, int, str, str, list[chain.Template]]) -> int:
    return chain.make_till_day(job)


if __name__ == "__main__":
    sys.exit(main())
