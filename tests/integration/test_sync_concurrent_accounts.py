"""Two pushes that fold the same member at once on PostgreSQL: head office folds accounts
before it writes (and so locks) them, so a push whose member was changed by another push in
between must fold that member again from the new row, never write back a stale account."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec
import psycopg
import pytest
from psycopg import sql

from loyalty.db import to_text
from loyalty.ledger import GENESIS
from sync import protocol as p
from sync.headoffice.accounts import StoredEntry, compute
from sync.headoffice.service import HeadOffice
from sync.headoffice.store_postgres import PostgresStore, _PostgresTx
from sync.testing import TempPostgres
from tests.sync_fixtures import PROGRAM, postgres

__all__ = ["postgres"]

NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)


class _PausingTx(_PostgresTx):
    """A real transaction that runs ``before_write`` once, just before it writes accounts."""

    before_write: Callable[[], None] | None = None
    refolded: list[str] = []

    def update_unchanged(self, sql: str, rows: Sequence[Sequence[Any]]) -> set[Any]:
        hook, type(self).before_write = type(self).before_write, None
        if hook is not None:
            hook()
        return super().update_unchanged(sql, rows)

    def lock_members(self, member_ids: Iterable[str]) -> dict[str, str]:
        type(self).refolded += list(member_ids)
        return super().lock_members(member_ids)


class _PausingStore(PostgresStore):
    @contextmanager
    def transaction(self) -> Iterator[_PostgresTx]:
        with super().transaction() as tx:
            yield _PausingTx(tx.conn)


def _batch(terminal_id: str, first_seq: int, prev: str, earns: list[tuple[str, int]]) -> bytes:
    out = []
    for i, (member, points) in enumerate(earns):
        e = p.WireEntry(
            entry_id=str(uuid.uuid4()), terminal_id=terminal_id, seq=first_seq + i,
            member_id=member, kind="earn", points=points, amount_minor=points * 100,
            currency="EUR", receipt_no=f"{terminal_id}-{first_seq + i}", reverses=None,  # type: ignore[arg-type]
            reward_id=None, program_version="2026.1", occurred_at=to_text(NOW), offline=True,
            cashier_id="anna", reason="base", prev_hash=prev, hash="0" * 64,
        )  # fmt: skip
        e = msgspec.structs.replace(e, hash=p.chain_hash(prev, e))
        prev = e.hash
        out.append(e)
    return p.encode(p.PushRequest(terminal_id=terminal_id, entries=out))


def _balance(answer: bytes, member_id: str) -> int:
    decoded: p.PushAnswer = msgspec.json.decode(answer, type=p.PushAnswer)
    return next(m.balance for m in decoded.members if m.member_id == member_id)


def test_a_member_changed_between_the_read_and_the_write_is_folded_again(
    postgres: TempPostgres | str,
) -> None:
    if isinstance(postgres, str):
        pytest.skip(f"PostgreSQL cannot start here: {postgres}")
    store = _PausingStore(postgres.empty_database())
    ho = HeadOffice(store, clock=lambda: NOW)
    ho.publish_program(PROGRAM)
    for till in ("T1", "T2"):
        ho.register_till(till)
    body = _batch("T1", 1, GENESIS, [("M1", 100), ("M3", 7)])  # head office knows both now
    first = ho.push("T1", body, "k1")
    assert _balance(first, "M1") == 0  # earned points are pending for the return window

    # T2 pushes for M1 and M3; between its read of M1 and its write, T1's next push (M1
    # again) commits in another thread. T2 must see T1's new account, not overwrite it.
    t1_prev = msgspec.json.decode(body, type=p.PushRequest).entries[-1].hash
    assert ho.store.dialect == "postgresql"
    other: dict[str, Any] = {}

    def t1_pushes_meanwhile() -> None:
        worker = threading.Thread(
            target=lambda: other.update(
                answer=ho.push("T1", _batch("T1", 3, t1_prev, [("M1", 30)]), "k2")
            )
        )
        worker.start()
        worker.join(30)
        assert not worker.is_alive(), "T1's push waited for T2: the read took locks"

    _PausingTx.before_write = t1_pushes_meanwhile
    _PausingTx.refolded = []
    ho.push("T2", _batch("T2", 1, GENESIS, [("M1", 50), ("M3", 5)]), "k3")
    assert _PausingTx.before_write is None, "the push never wrote its members"
    assert "answer" in other
    assert _PausingTx.refolded == ["M1"]  # M3 was written as first folded

    # Every member's kept account is what its whole history gives, in arrival order.
    with store.transaction() as tx:
        rows = tx.all(
            "SELECT member_id, entry_id, kind, points, amount_minor, reverses, reason, "
            "occurred_at, received_at FROM entries ORDER BY id"
        )
    history: dict[str, list[StoredEntry]] = {}
    for r in rows:
        history.setdefault(r[0], []).append(StoredEntry(*r[1:]))
        program = ho.program(tx)
    assert set(history) == {"M1", "M3"}
    for member_id, entries in history.items():
        expected = compute(program, entries, NOW)
        state = ho.member(member_id)
        assert (state.balance, state.tier_progress) == (expected.balance, expected.tier_progress)
        # (Lots released at the same moment may be listed in either order: pushes fold in the
        # order they lock, which need not be the order their entries were inserted.)
        assert sorted(map(tuple, state.pending)) == sorted(expected.pending), member_id
    assert sum(points for points, _ in ho.member("M1").pending) == 180
    store.close()


def test_a_push_chosen_to_break_a_deadlock_runs_again_and_stores_once(
    postgres: TempPostgres | str, caplog: pytest.LogCaptureFixture
) -> None:
    """A real deadlock: another session holds M5 while the push's UPDATE has written M1-M4
    and waits for M5; that session then asks for M2. PostgreSQL ends the push's transaction
    (its lock wait passes deadlock_timeout first), and head office runs the push again."""
    if isinstance(postgres, str):
        pytest.skip(f"PostgreSQL cannot start here: {postgres}")
    url = postgres.empty_database()
    with psycopg.connect(url, autocommit=True) as admin:
        # Head office's sessions look for deadlocks after 2 s, the other session after 60 s:
        # the push is the one PostgreSQL picks.
        admin.execute(
            sql.SQL("ALTER DATABASE {} SET deadlock_timeout = '2s'").format(
                sql.Identifier(admin.info.dbname)
            )
        )
    store = PostgresStore(url)
    ho = HeadOffice(store, clock=lambda: NOW)
    ho.publish_program(PROGRAM)
    for till in ("T1", "T2"):
        ho.register_till(till)
    members = [f"M{i}" for i in range(1, 10)]
    ho.push("T1", _batch("T1", 1, GENESIS, [(m, 10) for m in members]), "k1")

    other = psycopg.connect(url)
    other.execute("SET deadlock_timeout = '60s'")
    other.execute("SELECT 1 FROM members WHERE member_id = 'M5' FOR UPDATE").fetchall()
    caplog.set_level(logging.INFO, logger="sync.headoffice")
    done: dict[str, Any] = {}
    body = _batch("T2", 1, GENESIS, [(m, 20) for m in members])
    pusher = threading.Thread(target=lambda: done.update(answer=ho.push("T2", body, "k2")))
    pusher.start()
    with psycopg.connect(url, autocommit=True) as watch:
        for _ in range(1000):  # until the push's UPDATE waits for M5
            waiting = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'UPDATE members%%'"
            ).fetchone()
            if waiting and waiting[0]:
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the push never waited for M5")
    other.execute("SELECT 1 FROM members WHERE member_id = 'M2' FOR UPDATE").fetchall()
    other.commit()  # M2 came free when PostgreSQL ended the push: let the retry through
    other.close()
    pusher.join(30)
    assert not pusher.is_alive()
    assert "answer" in done, "the push failed instead of running again"
    assert "ran into DeadlockDetected" in caplog.text
    with psycopg.connect(url, autocommit=True) as admin:
        stored = admin.execute("SELECT count(*), count(DISTINCT entry_id) FROM entries").fetchone()
    assert stored == (18, 18)
    for m in members:
        assert sum(points for points, _ in ho.member(m).pending) == 30
    store.close()
