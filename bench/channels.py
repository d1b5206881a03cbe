"""A channel's posts over real HTTP on 127.0.0.1: purchases and engagement events posted one
after another by one client (the web shop), per head office store, beside the raw round trip of
``GET /v1/health`` on the same connection in the same run, and a retried post (same key and
body: the stored answer).

    .venv/bin/python bench/channels.py [--posts 300] [--postgres] [--json]

Each post is a whole transaction: the key's row, the member's row locked, the program's rules,
the channel's chain and counter, the account folded, the change feed. Figures are per post
(p50, p95 in milliseconds) and posts per second; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sync import protocol as p  # noqa: E402
from sync.headoffice.serve import ServerThread  # noqa: E402
from sync.headoffice.service import HeadOffice  # noqa: E402
from sync.headoffice.store import open_store  # noqa: E402

PROGRAM = (Path(__file__).resolve().parent.parent / "fixtures" / "program.toml").read_text("utf-8")


def _timed(n: int, call: Any) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _figures(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[int(len(ms) * 0.95) - 1], 2),
        "per_s": round(len(ms) / (sum(ms) / 1000), 1),
    }


def run(url_of_store: str, posts: int) -> dict[str, Any]:
    ho = HeadOffice(open_store(url_of_store), admin_token="bench")
    ho.publish_program(PROGRAM)
    members = [f"B{i:05d}" for i in range(posts)]
    for m in members:
        ho.upsert_member(m, p.MemberRequest())
    token = ho.register_channel("web")
    out: dict[str, Any] = {}
    with ServerThread(ho) as url, httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=60
    ) as http:

        def post(what: str, body: dict[str, Any], key: str) -> None:
            resp = http.post(f"/v1/channel/{what}", json=body,
                             headers={p.IDEMPOTENCY_HEADER: key})  # fmt: skip
            assert resp.status_code == 201, resp.text

        out["health (raw round trip)"] = _figures(_timed(posts, lambda i: http.get("/v1/health")))
        line = {"sku": "S", "category": "grocery", "amount_minor": 2500}
        out["purchase"] = _figures(_timed(posts, lambda i: post(
            "purchases", {"member_id": members[i], "order_id": f"W-{i}", "lines": [line]},
            f"o-{i}")))  # fmt: skip
        out["event"] = _figures(_timed(posts, lambda i: post(
            "events", {"member_id": members[i], "event_id": f"E-{i}", "action": "social_follow"},
            f"e-{i}")))  # fmt: skip
        out["purchase retried (stored answer)"] = _figures(_timed(posts, lambda i: post(
            "purchases", {"member_id": members[i], "order_id": f"W-{i}", "lines": [line]},
            f"o-{i}")))  # fmt: skip
    ho.store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--postgres", action="store_true", help="also on a throw-away PostgreSQL")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run(str(Path(tmp) / "headoffice.sqlite"), args.posts)
    if args.postgres:
        from sync.testing import TempPostgres

        pg = TempPostgres()
        try:
            results["postgresql"] = run(pg.empty_database("bench_channels"), args.posts)
        finally:
            pg.stop()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for store, rows in results.items():
        print(f"{store}: {args.posts} posts each, one client over loopback")
        for name, f in rows.items():
            print(f"  {name:34s} p50 {f['p50_ms']:7.2f} ms  p95 {f['p95_ms']:7.2f} ms  "
                  f"{f['per_s']:8.1f}/s")  # fmt: skip


if __name__ == "__main__":
    main()
