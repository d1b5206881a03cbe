"""What the stress scripts share: head office as a child process seeded with members, tills set
up with the real `till init`, and the invariants checked on a till's file and on head office's.

Loopback only: every server here listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from loyalty.ledger import verify_chain  # noqa: E402
from sync.testing import ServerProcess  # noqa: E402

PROGRAM_FILE = ROOT / "fixtures" / "program.toml"
ADMIN = "stress-admin"
TILL = [sys.executable, "-m", "terminal.cli"]
# The members head office knows (English receipts: their display name is "Stress M...").
MEMBERS = [f"M{i:06d}" for i in range(1, 9)]


def till_env(data_dir: Path, printer: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILL_")}
    env.update(TILL_DATA_DIR=str(data_dir), TILL_LANGUAGE="en", TILL_CASHIER="anna")
    env["PYTHONPATH"] = str(ROOT)
    if printer:
        env["TILL_PRINTER"] = printer
    return env


def run_till(data_dir: Path, *argv: str, timeout: float = 120) -> tuple[int, Any, str]:
    """The real `till` in its own process: exit code, its JSON (or None) and its stderr."""
    done = subprocess.run(
        [*TILL, *argv],
        env=till_env(data_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    out = done.stdout.strip()
    return done.returncode, (json.loads(out) if out else None), done.stderr.strip()


class HeadOfficeProc:
    """`python -m sync.headoffice.serve` on SQLite in ``folder``; can be killed and restarted
    on the same port and file (a power cut of head office)."""

    def __init__(self, folder: Path, members: list[str] = MEMBERS) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.db = folder / "headoffice.sqlite"
        self.server = ServerProcess(str(self.db), ADMIN, program=str(PROGRAM_FILE))
        self.url = self.server.start()
        self.port = self.server.port
        with httpx.Client(base_url=self.url, headers=self.admin_headers, trust_env=False) as h:
            for m in members:
                h.put(f"/v1/members/{m}", json={"display_name": "Stress " + m}).raise_for_status()

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN}"}

    def register(self, terminal_id: str) -> str:
        with httpx.Client(base_url=self.url, headers=self.admin_headers, trust_env=False) as h:
            resp = h.post("/v1/tills", json={"terminal_id": terminal_id})
            resp.raise_for_status()
            token: str = resp.json()["token"]
            return token

    def member(self, member_id: str) -> dict[str, Any]:
        with httpx.Client(base_url=self.url, headers=self.admin_headers, trust_env=False) as h:
            resp = h.get(f"/v1/members/{member_id}")
            resp.raise_for_status()
            data: dict[str, Any] = resp.json()
            return data

    def restart(self) -> None:
        self.server.kill()
        deadline = time.monotonic() + 30
        while True:
            try:
                self.server.start()
                return
            except (RuntimeError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        self.server.stop()

    def entries(self) -> list[tuple[str, str, int]]:
        """(entry_id, terminal_id, seq) of everything head office stored from tills (not its
        own entries, ``@headoffice``: compensations and job results)."""
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as conn:
            rows = conn.execute(
                "SELECT entry_id, terminal_id, seq FROM entries "
                "WHERE terminal_id <> '@headoffice' ORDER BY terminal_id, seq"
            ).fetchall()
        return [(r[0], r[1], int(r[2])) for r in rows]


def init_till(folder: Path, terminal_id: str, headoffice: str | None) -> Path:
    """`till init` (registers with head office and syncs once when given its URL)."""
    args = ["init", "--terminal-id", terminal_id, "--program", str(PROGRAM_FILE)]
    if headoffice:
        args += ["--headoffice", headoffice, "--admin-token", ADMIN]
    code, out, err = run_till(folder, *args)
    if code != 0:
        raise RuntimeError(f"till init failed: {err}")
    if headoffice and out.get("first_sync") != "ok":
        raise RuntimeError(f"till init could not sync: {out}")
    return folder


@dataclass
class TillState:
    problems: list[str]
    receipts: dict[str, int]  # receipt_no -> how many sales rows (always 0 or 1 if sound)
    entries: dict[str, int]  # receipt_no -> ledger entries
    entry_ids: list[str]
    unacked: int


def check_till(folder: Path, terminal_id: str) -> TillState:
    """Open the file the way the next `till` would, and check what a crash must never break."""
    problems: list[str] = []
    conn = sqlite3.connect(folder / "till.sqlite")
    try:
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            problems.append(f"integrity_check: {ok}")
        seqs = [r[0] for r in conn.execute("SELECT seq FROM ledger ORDER BY seq")]
        if seqs != list(range(1, len(seqs) + 1)):
            problems.append("seq has a gap")
        broken = verify_chain(conn, terminal_id)
        if broken is not None:
            problems.append(f"hash chain breaks at seq {broken}")
        receipts = dict(
            conn.execute("SELECT receipt_no, COUNT(*) FROM sales GROUP BY receipt_no").fetchall()
        )
        entries = dict(
            conn.execute(
                "SELECT receipt_no, COUNT(*) FROM ledger WHERE receipt_no IS NOT NULL "
                "GROUP BY receipt_no"
            ).fetchall()
        )
        half = set(receipts) ^ set(entries)
        if half:
            problems.append(f"half sales: {sorted(half)[:5]}")
        issued = conn.execute("SELECT value FROM meta WHERE key = 'receipts_issued'").fetchone()
        if int(issued[0] if issued else 0) != len(receipts):
            problems.append("receipt counter and sales disagree")
        ids = [r[0] for r in conn.execute("SELECT entry_id FROM ledger ORDER BY seq")]
        unacked = conn.execute("SELECT COUNT(*) FROM ledger WHERE acked_at IS NULL").fetchone()[0]
    finally:
        conn.close()
    return TillState(problems, receipts, entries, ids, int(unacked))


def exactly_once(
    ho_entries: list[tuple[str, str, int]], tills: dict[str, list[str]]
) -> dict[str, int]:
    """Compare head office's entries with the tills' ledgers: lost, duplicated, unknown."""
    ids = [e for e, _, _ in ho_entries]
    dup = len(ids) - len(set(ids))
    mine = {e for es in tills.values() for e in es}
    lost = len(mine - set(ids))
    unknown = len(set(ids) - mine)
    gaps = 0
    for terminal_id in tills:
        seqs = [s for _, t, s in ho_entries if t == terminal_id]
        if seqs != list(range(1, len(seqs) + 1)):
            gaps += 1
    return {"lost": lost, "duplicated": dup, "unknown": unknown, "seq_gaps": gaps}
