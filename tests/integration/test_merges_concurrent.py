"""Two pushes that enrol the same phone at once on PostgreSQL: the second waits for the first to
commit (the phone's claim) and merges; without it each would miss the other's uncommitted member
and the shopper would stay two members for good."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest

from loyalty.db import to_text
from sync import protocol as p
from sync.headoffice.service import HeadOffice
from sync.headoffice.store import PostgresStore, Row, _PostgresTx
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


def _enrolment(terminal_id: str, member_id: str, card: str) -> bytes:
    stamp = to_text(NOW)
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
