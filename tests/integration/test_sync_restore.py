"""A till restored from a backup (``sqlite3 till.sqlite ".backup copy"``) numbers its new
entries with seqs head office already holds for the sales the backup lost. Nothing may be lost
or stored twice: the till notices (from the per-entry answers and head office's last seq),
asks for a new chain segment, and pushes its new entries in it; head office raises an alert
and the cashier is told. Real ``till`` processes, a real head office on 127.0.0.1, SQLite and
PostgreSQL."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
from pathlib import Path

from loyalty.till import Till
from tests.sync_fixtures import Shop, buy, postgres, shop, store_url, till_entry_ids
from tests.till_processes import data_dir, run, sell

__all__ = ["postgres", "shop", "store_url"]


def _backup(db: Path, copy: Path) -> None:
    """What the README tells a shop to do: sqlite3's online backup."""
    sqlite = shutil.which("sqlite3")
    if sqlite is not None:
        subprocess.run([sqlite, str(db), f".backup {copy}"], check=True, timeout=60)
    else:  # the same online backup, through Python's sqlite3
        with (
            contextlib.closing(sqlite3.connect(db)) as src,
            contextlib.closing(sqlite3.connect(copy)) as dst,
        ):
            src.backup(dst)


def _restore(copy: Path, db: Path) -> None:
    """The safe restore: the till is stopped, the copy replaces the file, and the old
    database's WAL and shared-memory files go with it."""
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(copy, db)


def _ho_entries(shop: Shop) -> list[tuple[str, int, int]]:
    with shop.ho.store.transaction() as tx:
        rows = tx.all("SELECT entry_id, seq, points FROM entries WHERE terminal_id = 'T1'")
    return sorted((r[0], int(r[1]), int(r[2])) for r in rows)


def _ledger(db: Path) -> list[tuple[str, int, str | None]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT entry_id, points, acked_at FROM ledger ORDER BY seq").fetchall()


def test_a_till_restored_from_a_backup_loses_and_doubles_nothing(
    shop: Shop, tmp_path: Path
) -> None:
    folder, db = data_dir(shop)
    url = shop.url
    sell(folder, url, 2)
    assert run(folder, url, "sync", "--once")[1]["outbox"] == 0
    copy = tmp_path / "copy.sqlite"
    _backup(db, copy)
    sell(folder, url, 3)  # sold and synced after the backup: lost with the restore
    assert run(folder, url, "sync", "--once")[1]["outbox"] == 0
    before_restore = _ledger(db)

    _restore(copy, db)
    sell(folder, url, 2)  # their seqs are the lost sales' seqs
    after_restore = _ledger(db)
    code, summary, err = run(folder, url, "sync", "--once")
    assert code == 0, err
    assert summary["state"] == "restored" and summary["restored_from_backup"] is True
    assert summary["outbox"] == 0
    assert "restored from a backup" in err

    stored = _ho_entries(shop)
    ids = [e for e, _, _ in stored]
    assert len(ids) == len(set(ids)), "an entry is stored twice"
    # Every sale is at head office once: the ones the backup lost and the ones made since.
    assert sorted(ids) == sorted(
        {e for e, _, _ in before_restore} | {e for e, _, _ in after_restore}
    )
    assert [s for _, s, _ in sorted(stored, key=lambda r: r[1])] == list(range(1, len(ids) + 1))
    # The till marked its entries sent only because head office holds those very entries.
    assert all(acked for _, _, acked in _ledger(db))
    state = shop.ho.member("M1")
    assert state.balance + sum(p for p, _ in state.pending) == sum(p for _, _, p in stored)
    alerts = [a for a in shop.ho.alerts().alerts if a.kind == "till_restored"]
    assert len(alerts) == 1 and alerts[0].terminal_ids == ["T1"]
    # Its count: the entries head office holds that the till lost.
    assert alerts[0].count == len(before_restore) - len(_ledger(copy)) > 0

    # Later sales go on in the new segment, with receipt numbers after every one head office
    # holds from this till (the lost sales' numbers are not issued again from now on).
    with shop.ho.store.transaction() as tx:
        (highest,) = tx.one("SELECT MAX(receipt_no) FROM entries WHERE terminal_id = 'T1'")
    code, sale, err = run(folder, url, "sale", "--member", "M1", "--total", "10.00")
    assert code == 0 and sale["receipt_no"] > highest, err
    # And a second restore of the same old copy recovers the same way.
    code, summary, err = run(folder, url, "sync", "--once")
    assert code == 0 and summary["state"] == "synced" and summary["outbox"] == 0, err
    held = {e for e, _, _ in _ho_entries(shop)}
    _restore(copy, db)
    sell(folder, url, 2)
    new = {e for e, _, _ in _ledger(db)} - {e for e, _, _ in _ledger(copy)}
    code, summary, err = run(folder, url, "sync", "--once")
    assert code == 0 and summary["state"] == "restored" and summary["outbox"] == 0, err
    again = _ho_entries(shop)
    assert len(again) == len({e for e, _, _ in again})
    assert {e for e, _, _ in again} == held | new


def test_a_fork_in_the_middle_of_pipelined_batches_stores_nothing_after_it(
    shop: Shop, tmp_path: Path
) -> None:
    """Small batches, two in flight: the batch after the conflicting one reaches head office
    before the till has read the conflict; head office must not store it in the old segment."""
    shop.member("M1")
    till, client = shop.till("T1", batch_size=2)
    db = Path(till.db.path)
    for _ in range(2):
        buy(till, "M1")
    client.sync()
    copy = tmp_path / "copy.sqlite"
    _backup(db, copy)
    for _ in range(3):
        buy(till, "M1")
    client.sync()
    lost = set(till_entry_ids(till))
    client.close()
    till.close()
    shop.opened.clear()

    _restore(copy, db)
    till = Till.open(db.parent)
    token = shop.ho.register_till("T1", replace=True)
    client = type(client)(till, shop.url, token, batch_size=2)
    shop.opened += [client, till]
    for _ in range(7):
        buy(till, "M1")
    report = client.sync()
    assert report.restored_from_backup and report.outbox == 0
    stored = _ho_entries(shop)
    ids = {e for e, _, _ in stored}
    assert len(ids) == len(stored) == len(lost | set(till_entry_ids(till)))
    assert ids == lost | set(till_entry_ids(till))
