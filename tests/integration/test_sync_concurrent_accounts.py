"""Two pushes that fold the same member at once on PostgreSQL: head office folds accounts
before it locks them, so a push whose member was changed by another push in between must
fold that member again from the new row, never write back a stale account."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import pytest

from loyalty.db import to_text
from loyalty.ledger import GENESIS
from sync import protocol as p
from sync.headoffice.accounts import StoredEntry, compute
from sync.headoffice.service import HeadOffice
from sync.headoffice.store import PostgresStore, _PostgresTx
from sync.testing import TempPostgres
from tests.sync_fixtures import PROGRAM, postgres

__all__ = ["postgres"]

NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)


class _PausingTx(_PostgresTx):
    """A real transaction that runs ``before_lock`` once, just before it locks members."""

    before_lock: Callable[[], None] | None = None

    def lock_members(self, member_ids: Iterable[str]) -> dict[str, str]:
        hook, type(self).before_lock = type(self).before_lock, None
        if hook is not None:
            hook()
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


def test_a_member_changed_between_the_read_and_the_lock_is_folded_again(
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

    # T2 pushes for M1 and M3; between its read of M1 and its locks, T1's next push (M1
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

    _PausingTx.before_lock = t1_pushes_meanwhile
    ho.push("T2", _batch("T2", 1, GENESIS, [("M1", 50), ("M3", 5)]), "k3")
    assert _PausingTx.before_lock is None, "the push never locked its members"
    assert "answer" in other

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
