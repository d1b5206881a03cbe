"""An entry head office must not credit never blocks the rest of a till's outbox: it is held
(kept in its place in the chain, not credited, alerted) and the till says how many it has.
Real ``till`` processes, a till's SQLite edited as a dishonest till would, a real head office
on 127.0.0.1, SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from loyalty.ledger import GENESIS, entry_hash, new_entry_id
from tests.sync_fixtures import Shop, postgres, shop, store_url
from tests.till_processes import data_dir, run, sell

__all__ = ["postgres", "shop", "store_url"]


def _forge(db: Path, points: int) -> str:
    """Append an entry the till's code never would, with a correct hash chain: what someone
    with the till's file and a text editor can do. Returns its entry id."""
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT seq, hash, terminal_id FROM ledger ORDER BY seq DESC").fetchone()
        seq, prev, terminal_id = (row[0], row[1], row[2]) if row else (0, GENESIS, "T1")
        entry_id = new_entry_id()
        fields = (
            entry_id, terminal_id, seq + 1, "M1", "bonus", points, 0, "EUR", None, None, None,
            "2026.11.1", "2026-12-01T10:00:00.000000Z", 1, "cashier1", "bonus:forged",
        )  # fmt: skip
        conn.execute(
            "INSERT INTO ledger (entry_id, terminal_id, seq, member_id, kind, points, "
            "amount_minor, currency, receipt_no, reverses, reward_id, program_version, "
            "occurred_at, offline, cashier_id, reason, prev_hash, hash, acked_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (*fields, prev, entry_hash(prev, fields)),
        )
    return entry_id


def _credited(shop: Shop) -> int:
    with shop.ho.store.transaction() as tx:
        row = tx.one("SELECT COALESCE(SUM(points), 0) FROM entries WHERE member_id = 'M1'")
    return int(row[0]) if row else 0


def _held(shop: Shop) -> list[tuple[str, str]]:
    with shop.ho.store.transaction() as tx:
        return [(r[0], r[1]) for r in tx.all("SELECT entry_id, reason FROM held_entries")]


def test_an_entry_beyond_the_protocol_is_held_and_later_sales_sync(shop: Shop) -> None:
    folder, db = data_dir(shop)
    url = shop.url
    sell(folder, url, 1)
    forged = _forge(db, 4_006_381_333_931_00)  # beyond the protocol's bound on points
    sell(folder, url, 2)
    code, summary, err = run(folder, url, "sync", "--once")
    assert code == 0, err
    assert summary["state"] == "synced" and summary["outbox"] == 0
    assert summary["held_by_headoffice"] == 1
    assert "entries held by head office (not credited until head office checks them): 1" in err
    assert _held(shop) == [(forged, "invalid_entry")]
    state = shop.ho.member("M1")
    assert state.balance + sum(p for p, _ in state.pending) == _credited(shop) < 10**6
    alerts = [a for a in shop.ho.alerts().alerts if a.kind == "invalid_entry"]
    assert [(a.member_id, a.terminal_ids, a.count) for a in alerts] == [("M1", ["T1"], 1)]
    # The till goes on: later sales reach head office, the held entry is not sent again.
    sell(folder, url, 1)
    code, summary, err = run(folder, url, "sync", "--once")
    assert code == 0 and summary["outbox"] == 0 and summary["pushed"] >= 1, err
    assert len(_held(shop)) == 1


def test_an_entry_edited_behind_the_triggers_is_held_and_its_points_not_spendable(
    shop: Shop,
) -> None:
    """A dishonest till drops its ledger's triggers and multiplies an unsent entry's points:
    the hash no longer covers the facts, head office holds the entry and another till sees
    a balance without it."""
    folder, db = data_dir(shop)
    url = shop.url
    sell(folder, url, 1)
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER ledger_no_update")
        (edited,) = conn.execute(
            "SELECT entry_id FROM ledger WHERE acked_at IS NULL ORDER BY seq"
        ).fetchone()
        conn.execute("UPDATE ledger SET points = 900000 WHERE entry_id = ?", (edited,))
    sell(folder, url, 1)
    code, summary, err = run(folder, url, "sync", "--once")
    assert code == 0 and summary["outbox"] == 0 and summary["held_by_headoffice"] == 1, err
    assert _held(shop) == [(edited, "chain_broken")]
    assert _credited(shop) < 900000
    alerts = [a for a in shop.ho.alerts().alerts if a.kind == "chain_broken"]
    assert [(a.member_id, a.terminal_ids) for a in alerts] == [("M1", ["T1"])]
    # Another till pulls the member: the edited points are not there to spend.
    other, client = shop.till("T2")
    with other.db.read() as conn:
        (balance,) = conn.execute("SELECT balance FROM members WHERE member_id = 'M1'").fetchone()
    assert balance < 900000
    state = shop.ho.member("M1")
    assert state.balance + sum(p for p, _ in state.pending) == _credited(shop)


def test_points_rewritten_with_their_hashes_are_held_for_the_programs_arithmetic(
    shop: Shop,
) -> None:
    """A dishonest till that also rewrites the hash chain after raising an entry's points
    (a sound chain over invented points): the points do not follow from the program for the
    entry's amount and kind, so head office holds it and another till cannot spend them."""
    folder, db = data_dir(shop)
    url = shop.url
    sell(folder, url, 1)
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER ledger_no_update")
        rows = conn.execute(
            "SELECT entry_id, terminal_id, seq, member_id, kind, points, amount_minor, currency, "
            "receipt_no, reverses, reward_id, program_version, occurred_at, offline, "
            "cashier_id, reason, prev_hash FROM ledger WHERE acked_at IS NULL ORDER BY seq"
        ).fetchall()
        edited = next(r[0] for r in rows if r[4] == "earn")
        prev = rows[0][16]
        for row in rows:
            fields = list(row[:16])
            if fields[0] == edited:
                fields[5] = 500_000  # for a 10.00 sale
            digest = entry_hash(prev, tuple(fields))
            conn.execute(
                "UPDATE ledger SET points = ?, prev_hash = ?, hash = ? WHERE entry_id = ?",
                (fields[5], prev, digest, fields[0]),
            )
            prev = digest
    code, summary, err = run(folder, url, "sync", "--once")
    assert code == 0 and summary["outbox"] == 0 and summary["held_by_headoffice"] == 1, err
    assert _held(shop) == [(edited, "points_beyond_program")]
    assert _credited(shop) < 500_000
    alerts = [a for a in shop.ho.alerts().alerts if a.kind == "points_beyond_program"]
    assert [(a.member_id, a.terminal_ids) for a in alerts] == [("M1", ["T1"])]
    other, _ = shop.till("T2")
    with other.db.read() as conn:
        (balance,) = conn.execute("SELECT balance FROM members WHERE member_id = 'M1'").fetchone()
    assert balance == shop.ho.member("M1").balance < 500_000
