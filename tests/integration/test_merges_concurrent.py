"""Two pushes that enrol the same phone at once on PostgreSQL: the second waits for the first to
commit (the phone's claim) and merges; without it each would miss the other's uncommitted member
and the shopper would stay two members for good."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec
import pytest

from loyalty.db import to_text
from loyalty.ledger import GENESIS
from sync import protocol as p
from sync.headoffice.service import HeadOffice
from sync.headoffice.store import Row
from sync.headoffice.store_postgres import PostgresStore, _PostgresTx
from sync.testing import TempPostgres
from tests.sync_fixtures import PROGRAM, postgres

__all__ = ["postgres"]

NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
PHONE = "ab" * 32


class _PausingTx(_PostgresTx):
    """Runs ``after_detect`` once, right after a push has looked for members of a phone."""

    after_detect: Any = None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows = super().all(sql, params)
        if "WHERE phone_hash = ?" in sql:
            hook, type(self).after_detect = type(self).after_detect, None
            if hook is not None:
                hook()
        return rows


class _PausingStore(PostgresStore):
    @contextmanager
    def transaction(self) -> Iterator[_PostgresTx]:
        with super().transaction() as tx:
            yield _PausingTx(tx.conn)


def _enrolment(terminal_id: str, member_id: str, card: str, earlier: bool = False) -> bytes:
    stamp = to_text(NOW - dt.timedelta(hours=1) if earlier else NOW)
    e = p.WireEnrolment(
        member_id=member_id, card_number=card, display_name="Ola", language="pl",
        phone_hash=PHONE, birthday=None, consent_at=stamp, consent_version="2026-1",
        enrolled_at=stamp, terminal_id=terminal_id, cashier_id="anna",
    )  # fmt: skip
    return p.encode(p.PushRequest(terminal_id=terminal_id, entries=[], enrolments=[e]))


def test_two_pushes_enrolling_one_phone_at_once_end_in_one_member(
    postgres: TempPostgres | str,
) -> None:
    if isinstance(postgres, str):
        pytest.skip(f"PostgreSQL cannot start here: {postgres}")
    store = _PausingStore(postgres.empty_database())
    ho = HeadOffice(store, clock=lambda: NOW)
    ho.publish_program(PROGRAM)
    for till in ("T1", "T2"):
        ho.register_till(till)
    other: dict[str, bytes] = {}
    worker = threading.Thread(
        target=lambda: other.update(
            answer=ho.push("T2", _enrolment("T2", "M2", "200000000002"), "b")
        )
    )

    def t2_enrols_meanwhile() -> None:
        # T1 has looked and found only its own member, and has not committed. T2 enrols the
        # same phone now; give it the chance to finish before T1 commits (it must not).
        worker.start()
        worker.join(5)

    _PausingTx.after_detect = t2_enrols_meanwhile
    ho.push("T1", _enrolment("T1", "M1", "100000000001"), "a")
    worker.join(60)
    assert "answer" in other
    merged = {m: ho.member(m).merged_into for m in ("M1", "M2")}
    assert merged == {"M1": None, "M2": "M1"}
    store.close()


class _PausingMoves(_PostgresTx):
    """Runs ``after_read`` once, right after a merge has read the duplicate's entries."""

    after_read: Any = None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows = super().all(sql, params)
        if "points <> 0 ORDER BY id" in sql:
            hook, type(self).after_read = type(self).after_read, None
            if hook is not None:
                hook()
        return rows


class _PausingMovesStore(PostgresStore):
    @contextmanager
    def transaction(self) -> Iterator[_PostgresTx]:
        with super().transaction() as tx:
            yield _PausingMoves(tx.conn)


def _earn(terminal_id: str, seq: int, prev: str, member_id: str, points: int) -> p.WireEntry:
    e = p.WireEntry(
        entry_id=str(uuid.uuid4()), terminal_id=terminal_id, seq=seq, member_id=member_id,
        kind="earn", points=points, amount_minor=points * 100, currency="EUR",
        receipt_no=f"{terminal_id}-{seq}", reverses=None, reward_id=None,
        program_version="2026.1", occurred_at=to_text(NOW), offline=True, cashier_id="anna",
        reason="base", prev_hash=prev, hash="0" * 64,
    )  # fmt: skip
    return msgspec.structs.replace(e, hash=p.chain_hash(prev, e))


def _push(
    ho: HeadOffice, terminal_id: str, entries: list[p.WireEntry], enrolments: bytes = b""
) -> None:
    more = msgspec.json.decode(enrolments, type=p.PushRequest).enrolments if enrolments else []
    body = p.encode(p.PushRequest(terminal_id=terminal_id, entries=entries, enrolments=more))
    ho.push(terminal_id, body, str(uuid.uuid4()))


def test_an_entry_stored_while_its_member_is_merged_is_moved_by_a_later_push(
    postgres: TempPostgres | str,
) -> None:
    if isinstance(postgres, str):
        pytest.skip(f"PostgreSQL cannot start here: {postgres}")
    store = _PausingMovesStore(postgres.empty_database())
    ho = HeadOffice(store, clock=lambda: NOW)
    ho.publish_program(PROGRAM)
    for till in ("T1", "T2", "T3"):
        ho.register_till(till)
    # T2's enrolment of the phone arrives first, with 50 points; T1's, enrolled earlier, later.
    e1 = _earn("T2", 1, GENESIS, "M2", 50)
    _push(ho, "T2", [e1], _enrolment("T2", "M2", "200000000002"))
    e2 = _earn("T3", 1, GENESIS, "M2", 7)
    worker = threading.Thread(target=lambda: _push(ho, "T3", [e2]))

    def t3_pushes_meanwhile() -> None:
        # T1's push has read M2's entries (50) to move them and has not committed: T3 stores
        # 7 more for M2 now, seeing no merge yet.
        worker.start()
        worker.join(60)

    _PausingMoves.after_read = t3_pushes_meanwhile
    _push(ho, "T1", [], _enrolment("T1", "M1", "100000000001", earlier=True))
    assert not worker.is_alive()
    assert ho.member("M2").merged_into == "M1"
    # The next push, whoever makes it, moves what was left behind.
    _push(ho, "T3", [_earn("T3", 2, e2.hash, "M9", 1)])
    m1, m2 = ho.member("M1"), ho.member("M2")
    assert (m2.balance, m2.pending) == (0, [])
    assert (m1.balance, sum(points for points, _ in m1.pending)) == (0, 57)
    store.close()
