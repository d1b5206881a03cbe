"""A sale through the till API (a real ``till api`` process, HTTP on 127.0.0.1) beside the
CLI's in-process sale (``loyalty.sales.sale``, what ``till sale`` runs once started), on two
fresh till data dirs with the sample program and members. Target: the API's p95 within 2x.

    .venv/bin/python bench/api.py [--sales 200]

Each API sale is a new POS sale id (a retry would be a read); every fifth one is retried, as
a POS that lost an answer would, and those retries are timed apart.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from loyalty import sales  # noqa: E402
from loyalty.rules import BasketLine  # noqa: E402
from loyalty.till import Till  # noqa: E402

MEMBERS = ("M000001", "M000002", "M000003")


def data_dir(folder: Path) -> Path:
    till = Till.open(folder, must_exist=False)
    program = ROOT / "fixtures" / "program.toml"
    till.initialise("BENCH-T1", program.read_text(encoding="utf-8"), str(program))
    till.import_members(ROOT / "fixtures" / "members.csv")
    till.close()
    (folder / "config.toml").write_text('language = "en"\n', encoding="utf-8")
    return folder


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def show(name: str, values: list[float]) -> None:
    mean = statistics.fmean(values) * 1000
    print(f"{name:<34} n={len(values):>4}  p50 {pct(values, 0.5):7.2f} ms  "
          f"p95 {pct(values, 0.95):7.2f} ms  mean {mean:7.2f} ms")  # fmt: skip


def in_process(folder: Path, n: int) -> list[float]:
    till = Till.open(folder)
    lines = (BasketLine("OIL", "grocery", 2500), BasketLine("FETA", "grocery", 1750))
    out = []
    try:
        for i in range(n):
            req = sales.SaleRequest(MEMBERS[i % 3], "cli", lines)
            start = time.perf_counter()
            sales.sale(till, req)
            out.append(time.perf_counter() - start)
    finally:
        till.close()
    return out


def through_api(folder: Path, n: int) -> tuple[list[float], list[float]]:
    exe = shutil.which("till", path=str(Path(sys.executable).parent)) or "till"
    env = {**os.environ, "TILL_DATA_DIR": str(folder), "TILL_LANGUAGE": "en"}
    env.pop("TILL_CONFIG", None)
    proc = subprocess.Popen([exe, "api", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        token = (folder / "pos_api.token").read_text(encoding="utf-8").strip()
        sales_s, retries_s = [], []
        with httpx.Client(base_url=ready["url"], timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as http:  # fmt: skip
            for i in range(n):
                body = {
                    "pos_sale_id": f"BENCH-{i}", "member": MEMBERS[i % 3], "currency": "EUR",
                    "total_minor": 4250,
                    "lines": [{"sku": "OIL", "category": "grocery", "amount_minor": 2500},
                              {"sku": "FETA", "category": "grocery", "amount_minor": 1750}],
                }  # fmt: skip
                start = time.perf_counter()
                r = http.post("/v1/sales", json=body)
                sales_s.append(time.perf_counter() - start)
                assert r.status_code == 200, r.text
                if i % 5 == 0:
                    start = time.perf_counter()
                    again = http.post("/v1/sales", json=body)
                    retries_s.append(time.perf_counter() - start)
                    assert again.json() == r.json()
        return sales_s, retries_s
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        base = in_process(data_dir(Path(tmp) / "cli"), args.sales)
        api, retries = through_api(data_dir(Path(tmp) / "api"), args.sales)
    show("in-process sale (till sale's core)", base)
    show("sale through the till API", api)
    show("retried sale (same POS id)", retries)
    ratio = pct(api, 0.95) / pct(base, 0.95)
    print(f"API p95 / in-process p95 = {ratio:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
