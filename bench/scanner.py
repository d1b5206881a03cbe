"""Camera frame -> verified member id, per decoder, beside the raw decoder call, in one run.

    .venv/bin/python bench/scanner.py [--repeat N] [--budget S] [--decoders zxing,zbar,opencv]

Frames: every scene of fixtures/scanner/make_fixtures.py (the committed fixtures' scenes: easy,
hard and no-code frames) drawn at 640x480, 1280x720 and 1920x1080. For each decoder and size:

* pipeline: ``scanner.images.scan_frame`` on the BGR frame as a camera gives it - grayscale,
  the decoder with its retry passes, Ed25519 verification of what it found;
* raw: one call of the library on the same BGR frame (``Decoder.raw``), nothing else.

Times are per frame over all frames (a frame without a code costs every retry pass), median and
95th percentile, over "runs" timed runs of every frame (as many as fit in ``--budget`` seconds).
"read" is the share of frames with codes whose member ids all verified (raw: the raw call's
payloads, verified outside the timing). Then the same on the committed hard fixture files.
The default decoder in scanner/decoders.py is the one that reads the most hard fixtures, then
is fastest at 1280x720.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scanner.codes import MemberCode, verify  # noqa: E402
from scanner.decoders import (  # noqa: E402
    DECODER_NAMES,
    DEFAULT_DECODER,
    Decoder,
    make_decoder,
    to_gray,
)
from scanner.images import scan_frame  # noqa: E402
from scanner.keys import load_public_keys  # noqa: E402

FIXTURES = ROOT / "fixtures" / "scanner"
SIZES = [(640, 480), (1280, 720), (1920, 1080)]


def _load_make_fixtures() -> Any:
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _read(path: Path) -> np.ndarray:
    frame = cv2.imread(str(path))
    if frame is None:
        raise SystemExit(f"cannot read {path}")
    return np.asarray(frame, dtype=np.uint8)


def _ids(payloads: list[bytes], keys: dict[str, bytes], now: dt.datetime) -> set[str]:
    out = set()
    for p in payloads:
        r = verify(p, keys, now)
        if isinstance(r, MemberCode):
            out.add(r.member_id or r.card_number or "")
    return out


def _time(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    result = fn()
    return (time.perf_counter() - t) * 1000, result


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def measure(
    decoder: Decoder,
    frames: list[tuple[np.ndarray, list[str]]],
    keys: dict[str, bytes],
    now: dt.datetime,
    repeat: int,
    budget_s: float,
) -> dict[str, float]:
    """Times every frame once, then again while ``budget_s`` lasts (at most ``repeat`` times)."""
    pipe_ms: list[float] = []
    raw_ms: list[float] = []
    raw_found: list[list[bytes]] = []
    started = time.perf_counter()
    for run in range(repeat):
        if run and time.perf_counter() - started > budget_s:
            break
        for frame, _ in frames:
            ms, _ = _time(partial(scan_frame, frame, decoder, keys, now))
            pipe_ms.append(ms)
            ms, raw = _time(partial(decoder.raw, frame))
            raw_ms.append(ms)
            if run == 0:
                raw_found.append(raw)
    pipe_ok = raw_ok = with_code = 0
    for (frame, expected), raw in zip(frames, raw_found, strict=True):
        if expected:
            with_code += 1
            got = _ids(decoder.decode(to_gray(frame)), keys, now)
            pipe_ok += got == set(expected)
            raw_ok += _ids(raw, keys, now) == set(expected)
    return {
        "pipe_med": statistics.median(pipe_ms),
        "pipe_p95": _pct(pipe_ms, 95),
        "raw_med": statistics.median(raw_ms),
        "raw_p95": _pct(raw_ms, 95),
        "pipe_read": pipe_ok / with_code,
        "raw_read": raw_ok / with_code,
        "runs": len(pipe_ms) / len(frames),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="most timed runs per frame")
    parser.add_argument(
        "--budget", type=float, default=3.0, help="seconds per decoder and size for repeats"
    )
    parser.add_argument("--decoders", default=",".join(DECODER_NAMES))
    args = parser.parse_args()
    cv2.setNumThreads(1)  # one core per frame, as the till's camera thread has
    mf = _load_make_fixtures()
    manifest = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    now = dt.datetime.fromisoformat(manifest["fixture_time"]) + dt.timedelta(minutes=1)
    keys = load_public_keys(ROOT / "fixtures" / "keys")
    frames = {size: [mf.render(scene, size) for scene in mf.SCENES] for size in SIZES}
    hard_files = [i for i in manifest["images"] if i["hard"]]
    hard = [(_read(FIXTURES / i["file"]), i["ids"]) for i in hard_files]
    n_code = sum(1 for _, ids in frames[SIZES[0]] if ids)
    print(
        f"scanner bench: {len(mf.SCENES)} scenes per size ({n_code} with codes), "
        f"{len(hard)} hard fixture files; OpenCV {cv2.__version__}, 1 thread; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print("times in ms per frame; pipeline = frame -> verified member id; raw = one library call")
    header = (
        f"{'decoder':8} {'frames':10} {'pipe med':>9} {'pipe p95':>9} {'raw med':>8} "
        f"{'raw p95':>8} {'read pipe':>10} {'read raw':>9} {'runs':>5}"
    )
    print(header)
    print("-" * len(header))
    summary: dict[str, dict[str, float]] = {}
    for name in args.decoders.split(","):
        choice = make_decoder(name)
        if choice.fell_back_from:
            print(f"{name:8} not installed ({choice.missing}); skipped")
            continue
        decoder = choice.decoder
        decoder.decode(np.zeros((480, 640), np.uint8))  # warm up
        for size in SIZES:
            r = measure(decoder, frames[size], keys, now, args.repeat, args.budget)
            label = f"{size[0]}x{size[1]}"
            print(
                f"{name:8} {label:10} {r['pipe_med']:9.1f} {r['pipe_p95']:9.1f} "
                f"{r['raw_med']:8.1f} {r['raw_p95']:8.1f} {r['pipe_read']:10.0%} "
                f"{r['raw_read']:9.0%} {r['runs']:5.0f}"
            )
            if size == (1280, 720):
                summary[name] = dict(r)
        r = measure(decoder, hard, keys, now, args.repeat, args.budget)
        print(
            f"{name:8} {'hard files':10} {r['pipe_med']:9.1f} {r['pipe_p95']:9.1f} "
            f"{r['raw_med']:8.1f} {r['raw_p95']:8.1f} {r['pipe_read']:10.0%} {r['raw_read']:9.0%}"
            f" {r['runs']:5.0f}"
        )
        summary[name]["hard"] = r["pipe_read"]
        print("-" * len(header))
    if summary:
        best = max(summary, key=lambda n: (summary[n]["hard"], -summary[n]["pipe_med"]))
        print(
            f"best: {best} (hard fixtures read {summary[best]['hard']:.0%}, "
            f"1280x720 median {summary[best]['pipe_med']:.1f} ms); "
            f"scanner.decoders.DEFAULT_DECODER = {DEFAULT_DECODER!r}"
        )


if __name__ == "__main__":
    main()
