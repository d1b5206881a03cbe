"""A till restored from a backup, a poison entry and a tampering till, against a real head
office process (SQLite) and real `till` processes. One line per scenario:

- ``restore``: sales, a `sqlite3 .backup`-style copy, more sales synced, the copy restored,
  new sales (their seqs are the lost sales' seqs), sync: every sale at head office once.
- ``poison entry``: an entry beyond the protocol's bounds written into till.sqlite with a sound
  chain, then sales: head office holds the entry, credits nothing of it, the sales sync.
- ``edited entry``: the ledger's triggers dropped and an unsent entry's points raised: its hash
  no longer covers its facts; held, nothing credited.
- ``rewritten chain``: the same, with the hash chain rewritten after it: the points cannot
  follow from the program for the entry's amount; held, nothing credited.

Columns: the till's entries, how many head office stored (credited) or held, stored twice,
lost (a till entry head office has neither stored nor held), points credited beyond what the
honest entries carry (must be 0), the outbox after the sync, and the alert head office raised.

    .venv/bin/python bench/stress/integrity.py
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from common import ADMIN, HeadOfficeProc, init_till, run_till  # noqa: E402

from loyalty.ledger import GENESIS, entry_hash, new_entry_id  # noqa: E402

MEMBER = "M000001"


@dataclass(frozen=True)
class Outcome:
    name: str
    entries: int
    stored: int
    held: int
    twice: int
    lost: int
    over_credited: int
    outbox: int
    alert: str


def _sell(folder: Path, n: int) -> None:
    for _ in range(n):
        code, _, err = run_till(folder, "sale", "--member", MEMBER, "--total", "10.00")
        if code != 0:
            raise RuntimeError(f"till sale failed: {err}")


def _sync(folder: Path) -> dict[str, object]:
    code, out, err = run_till(folder, "sync", "--once")
    if code != 0:
        raise RuntimeError(f"till sync failed: {err}")
    return dict(out)


def _ledger(db: Path) -> list[tuple[str, int]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT entry_id, points FROM ledger ORDER BY seq").fetchall()


def _forge(db: Path, points: int) -> None:
    """An entry the till's code never writes, with a sound hash chain."""
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        seq, prev, terminal = conn.execute(
            "SELECT seq, hash, terminal_id FROM ledger ORDER BY seq DESC LIMIT 1"
        ).fetchone() or (0, GENESIS, "")
        fields = (
            new_entry_id(), terminal, seq + 1, MEMBER, "bonus", points, 0, "EUR", None, None,
            None, "2026.11.1", "2026-12-01T10:00:00.000000Z", 1, "anna", "bonus:forged",
        )  # fmt: skip
        conn.execute(
            "INSERT INTO ledger (entry_id, terminal_id, seq, member_id, kind, points, "
            "amount_minor, currency, receipt_no, reverses, reward_id, program_version, "
            "occurred_at, offline, cashier_id, reason, prev_hash, hash, acked_at) "
            f"VALUES ({', '.join('?' * 18)}, NULL)",
            (*fields, prev, entry_hash(prev, fields)),
        )


def _edit(db: Path, points: int, rehash: bool) -> None:
    """Raise the first unsent earn entry's points behind the triggers' back."""
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("DROP TRIGGER IF EXISTS ledger_no_update")
        rows = conn.execute(
            "SELECT entry_id, terminal_id, seq, member_id, kind, points, amount_minor, currency, "
            "receipt_no, reverses, reward_id, program_version, occurred_at, offline, "
            "cashier_id, reason, prev_hash FROM ledger WHERE acked_at IS NULL ORDER BY seq"
        ).fetchall()
        target = next(r[0] for r in rows if r[4] == "earn")
        conn.execute("UPDATE ledger SET points = ? WHERE entry_id = ?", (points, target))
        if not rehash:
            return
        prev = rows[0][16]
        for row in rows:
            fields = list(row[:16])
            if fields[0] == target:
                fields[5] = points
            digest = entry_hash(prev, tuple(fields))
            conn.execute(
                "UPDATE ledger SET prev_hash = ?, hash = ? WHERE entry_id = ?",
                (prev, digest, fields[0]),
            )
            prev = digest


def _measure(
    ho: HeadOfficeProc, name: str, terminal: str, mine: set[str], honest: set[str], out: dict
) -> Outcome:
    with contextlib.closing(sqlite3.connect(f"file:{ho.db}?mode=ro", uri=True)) as conn:
        stored = [
            r[0]
            for r in conn.execute("SELECT entry_id FROM entries WHERE terminal_id = ?", (terminal,))
        ]
        held = {
            r[0]
            for r in conn.execute(
                "SELECT entry_id FROM held_entries WHERE terminal_id = ?", (terminal,)
            )
        }
        credited = conn.execute(
            "SELECT COALESCE(SUM(points), 0) FROM entries WHERE entry_id IN "
            f"({', '.join('?' * len(honest))})",
            sorted(honest),
        ).fetchone()[0]
        all_points = conn.execute(
            "SELECT COALESCE(SUM(points), 0) FROM entries WHERE terminal_id = ?", (terminal,)
        ).fetchone()[0]
    with httpx.Client(base_url=ho.url, headers=ho.admin_headers, trust_env=False) as http:
        alerts = http.get("/v1/alerts").json()["alerts"]
    kinds = sorted({a["kind"] for a in alerts if terminal in a["terminal_ids"]} - {"velocity"})
    return Outcome(
        name=name,
        entries=len(mine),
        stored=len(stored),
        held=len(held),
        twice=len(stored) - len(set(stored)),
        lost=len(mine - set(stored) - held),
        over_credited=int(all_points) - int(credited),
        outbox=int(out["outbox"]),  # type: ignore[call-overload]
        alert=",".join(kinds) or "-",
    )


def restore(ho: HeadOfficeProc, work: Path) -> Outcome:
    folder = init_till(work / "R", "R1", ho.url)
    db = folder / "till.sqlite"
    _sell(folder, 3)
    _sync(folder)
    copy = work / "R-copy.sqlite"
    with (
        contextlib.closing(sqlite3.connect(db)) as src,
        contextlib.closing(sqlite3.connect(copy)) as dst,
    ):
        src.backup(dst)
    _sell(folder, 4)
    _sync(folder)
    before = {e for e, _ in _ledger(db)}
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(copy, db)
    _sell(folder, 3)
    out = _sync(folder)
    mine = before | {e for e, _ in _ledger(db)}
    return _measure(ho, "restore from a backup", "R1", mine, mine, out)


def _tampered(ho: HeadOfficeProc, work: Path, name: str, terminal: str, how: str) -> Outcome:
    folder = init_till(work / terminal, terminal, ho.url)
    db = folder / "till.sqlite"
    _sell(folder, 2)
    _sync(folder)
    _sell(folder, 1)
    honest = {e for e, _ in _ledger(db)}
    if how == "poison":
        _forge(db, 400_638_133_393_100)
    else:
        _edit(db, 500_000, rehash=how == "rewrite")
    _sell(folder, 2)
    out = _sync(folder)
    mine = {e for e, _ in _ledger(db)}
    touched = {e for e, p in _ledger(db) if p in (400_638_133_393_100, 500_000)}
    return _measure(ho, name, terminal, mine, (honest | mine) - touched, out)


def run(work: Path) -> list[Outcome]:
    ho = HeadOfficeProc(work / "ho")
    try:
        return [
            restore(ho, work),
            _tampered(ho, work, "poison entry (4e14 points)", "P1", "poison"),
            _tampered(ho, work, "entry edited behind triggers", "E1", "edit"),
            _tampered(ho, work, "points rewritten with hashes", "W1", "rewrite"),
        ]
    finally:
        ho.stop()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        outcomes = run(Path(tmp))
    print(
        f"{'scenario':32} {'entries':>7} {'stored':>6} {'held':>4} {'twice':>5} {'lost':>4} "
        f"{'over-credited':>13} {'outbox':>6}  alert"
    )
    for o in outcomes:
        print(
            f"{o.name:32} {o.entries:>7} {o.stored:>6} {o.held:>4} {o.twice:>5} {o.lost:>4} "
            f"{o.over_credited:>13} {o.outbox:>6}  {o.alert}"
        )


if __name__ == "__main__":
    assert ADMIN
    main()
