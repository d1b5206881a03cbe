"""Time moved for real: the `till` commands as a shop runs them, head office's jobs under
Debian's `faketime`. A member buys for EUR 600 in December and never comes back; head office's
schedule inside `till headoffice serve` (started on 2 January next year) takes the lapsed tier
back, `till headoffice jobs` on 1 February the year after expires the points, twice without
writing anything twice, and the till's next `till sync` shows both."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from loyalty.db import utc_now
from sync.testing import free_port

ROOT = Path(__file__).resolve().parents[2]
TILL = str(Path(sys.executable).with_name("till"))
ADMIN = "admin-secret"

pytestmark = pytest.mark.skipif(
    shutil.which("faketime") is None, reason="faketime is not installed (./dev test installs it)"
)


def env(tmp: Path) -> dict[str, str]:
    out = dict(os.environ)
    out.update(
        TILL_HEADOFFICE_ADMIN_TOKEN=ADMIN,
        TILL_LANGUAGE="en",
        TILL_CASHIER="cashier1",
        # The event loop's timers keep the real monotonic clock; only the calendar moves.
        FAKETIME_DONT_FAKE_MONOTONIC="1",
    )
    out.pop("TILL_CONFIG", None)
    out.pop("TILL_HEADOFFICE", None)
    out["TILL_DATA_DIR"] = str(tmp / "till")
    return out


def till(tmp: Path, *argv: str, at: str | None = None) -> Any:
    cmd = ([shutil.which("faketime") or "faketime", at] if at else []) + [TILL, *argv]
    done = subprocess.run(cmd, env=env(tmp), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (argv, done.stderr)
    return json.loads(done.stdout) if done.stdout.strip() else None


class HeadOfficeProcess:
    def __init__(
        self, tmp: Path, db: Path, port: int, at: str | None = None, jobs_every: int = 0
    ) -> None:
        cmd = [TILL, "headoffice", "serve", "--db", str(db), "--port", str(port),
               "--program", str(ROOT / "fixtures" / "program.toml"),
               "--jobs-every", str(jobs_every)]  # fmt: skip
        if at:
            cmd = [shutil.which("faketime") or "faketime", at, *cmd]
        log = tmp / "headoffice.log"
        with log.open("a") as err:
            self.proc = subprocess.Popen(
                cmd, env=env(tmp), stdout=subprocess.PIPE, stderr=err, text=True,
                start_new_session=True,  # faketime runs head office as its child: stop both
            )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"head office did not start: {log.read_text()[-2000:]}"
        self.url: str = json.loads(line)["url"]

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def own_entries(db: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT kind, points, reason FROM entries WHERE terminal_id = '@headoffice' "
            "ORDER BY seq"
        ).fetchall()
    return [(r[0], int(r[1]), r[2]) for r in rows]


def test_head_office_jobs_on_a_moved_calendar_reach_the_till(tmp_path: Path) -> None:
    db = tmp_path / "headoffice.sqlite"
    port = free_port()  # the same address each time head office starts: the till keeps it
    ho = HeadOfficeProcess(tmp_path, db, port)
    try:
        till(tmp_path, "init", "--terminal-id", "ATH1", "--program",
             str(ROOT / "fixtures" / "program.toml"), "--headoffice", ho.url,
             "--admin-token", ADMIN)  # fmt: skip
        member = till(tmp_path, "enroll", "--name", "Ann", "--consent")["member_id"]
        till(tmp_path, "sale", "--member", member, "--total", "600.00")
        till(tmp_path, "sync", "--once")
    finally:
        ho.stop()
    year = utc_now().year

    # 2 January next year: head office starts, and its schedule runs the jobs at once.
    ho = HeadOfficeProcess(tmp_path, db, port, at=f"{year + 1}-01-02 12:00:00", jobs_every=3600)
    try:
        for _ in range(300):  # the schedule's first run, in its own thread
            if own_entries(db):
                break
            time.sleep(0.1)
    finally:
        ho.stop()
    assert own_entries(db) == [("adjust", 0, "tier_review:oak:olive")]

    # 1 February the year after: the points earned in December expired at the end of last year.
    at = f"{year + 2}-02-01 12:00:00"
    report = till(tmp_path, "headoffice", "jobs", "--db", str(db), at=at)
    assert (report["expire_entries"], report["points_expired"]) == (1, 700)  # 600 + welcome 100
    assert report["ran_at"].startswith(f"{year + 2}-02-01")
    again = till(tmp_path, "headoffice", "jobs", "--db", str(db), at=at)
    assert (again["expire_entries"], again["members_changed"]) == (0, 0)
    assert own_entries(db) == [("adjust", 0, "tier_review:oak:olive"), ("expire", -700, "expiry")]

    # The till's next sync (its own clock, not moved) pulls head office's word.
    ho = HeadOfficeProcess(tmp_path, db, port)
    try:
        till(tmp_path, "sync", "--once")
        balance = till(tmp_path, "balance", member)
    finally:
        ho.stop()
    assert (balance["available"], balance["pending"], balance["tier"]) == (0, 0, "olive"), balance


def test_a_rotated_phone_key_retires_with_the_jobs_400_days_later(tmp_path: Path) -> None:
    """`till headoffice phone-keys --rotate` makes a new key and lists when the old one
    retires (never a key itself); `till headoffice jobs` a day before that keeps it, and on
    a clock past it retires it."""
    db = tmp_path / "headoffice.sqlite"
    listed = till(tmp_path, "headoffice", "phone-keys", "--db", str(db))
    assert listed["rotated"] is None
    assert [k["key_id"] for k in listed["phone_keys"]] == ["p1"]
    rotated = till(tmp_path, "headoffice", "phone-keys", "--rotate", "--db", str(db))
    assert rotated["rotated"] == "p2"
    old, current = rotated["phone_keys"]
    assert (old["key_id"], current["key_id"], current["retires_at"]) == ("p1", "p2", None)
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT value FROM settings WHERE key = 'phone_keys'").fetchone()
    assert not any(key in json.dumps(rotated) for _, key in json.loads(stored))
    retires = dt.datetime.fromisoformat(old["retires_at"].replace("Z", "+00:00"))
    before = (retires - dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    after = (retires + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    jobs = ("headoffice", "jobs", "--db", str(db))
    assert till(tmp_path, *jobs, at=before)["phone_keys_retired"] == []
    assert till(tmp_path, *jobs, at=after)["phone_keys_retired"] == ["p1"]
    listed = till(tmp_path, "headoffice", "phone-keys", "--db", str(db))
    assert [k["key_id"] for k in listed["phone_keys"]] == ["p2"]
