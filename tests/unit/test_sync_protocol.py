"""The wire payloads: strict requests, tolerant answers, stable idempotency keys, hashes that
survive the trip, and the client's retry arithmetic."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec
import pytest

from loyalty import outbox
from loyalty.ledger import entry_hash
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest, sale
from loyalty.till import Till
from sync import protocol as p
from sync.client import full_jitter, retry_after_seconds
from sync.runner import next_nightly, nightly_offset

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def till(tmp_path: Path) -> Till:
    till = Till.open(tmp_path, must_exist=False)
    till.initialise("T1", (ROOT / "fixtures" / "program.toml").read_text(), "program")
    enrolment = till.enroll("Ann", "c1", consent=True)
    sale(till, SaleRequest(enrolment.member.member_id, "c1", (BasketLine("A", "fresh", 2500),)))
    yield till
    till.close()


def test_entries_keep_their_hash_on_the_wire(till: Till) -> None:
    entries = outbox.pending_entries(till, 10)
    body = p.encode(p.PushRequest("T1", [p.wire_entry(e) for e in entries]))
    decoded = msgspec.json.decode(body, type=p.PushRequest)
    for wire in decoded.entries:
        assert entry_hash(wire.prev_hash, p.hash_fields(wire)) == wire.hash


def test_ledger_rows_travel_as_their_entries_do(till: Till) -> None:
    other = till.enroll("Όλγα", "c1", consent=True).member.member_id
    sale(till, SaleRequest(other, "c1", (BasketLine("B", "grocery", 990),)))
    rows = outbox.pending_rows(till, 10)
    assert len(rows) >= 2
    assert p.wire_entries(rows) == [p.wire_entry(e) for e in outbox.pending_entries(till, 10)]
    assert p.wire_entries(outbox.rows_from(till, 2, 10)) == [
        p.wire_entry(e) for e in outbox.entries_from(till, 2, 10)
    ]
    assert all(type(w.offline) is bool for w in p.wire_entries(rows))


def test_requests_are_strict(till: Till) -> None:
    wire = p.wire_entry(outbox.pending_entries(till, 1)[0])
    good = msgspec.to_builtins(p.PushRequest("T1", [wire]))
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({**good, "extra": 1}, p.PushRequest)
    bad = dict(good["entries"][0], points=1.5)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({**good, "entries": [bad]}, p.PushRequest)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({**good, "terminal_id": "x" * 33}, p.PushRequest)


def test_answers_are_tolerant() -> None:
    raw = b'{"member_id": "M1", "snapshot_at": "2026-01-01T00:00:00.000000Z", "new_field": 7}'
    state = msgspec.json.decode(raw, type=p.MemberState)
    assert state.member_id == "M1" and state.balance == 0


def test_idempotency_key_is_the_same_for_the_same_batch_only(till: Till) -> None:
    entries = [p.wire_entry(e) for e in outbox.pending_entries(till, 10)]
    one = p.encode(p.PushRequest("T1", entries))
    assert p.idempotency_key(one) == p.idempotency_key(p.encode(p.PushRequest("T1", entries)))
    assert p.idempotency_key(one) != p.idempotency_key(p.encode(p.PushRequest("T1", entries[:1])))


def test_full_jitter_stays_below_the_exponential_cap() -> None:
    assert full_jitter(0, 0.5, 60, lambda: 0.999) < 0.5
    assert full_jitter(10, 0.5, 60, lambda: 0.999) < 60
    assert full_jitter(3, 0.5, 60, lambda: 0.0) == 0


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Mon, 23 Nov 2026 12:00:30 GMT", now) == 30
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_nightly_sync_is_spread_by_till_and_stable() -> None:
    window = dt.timedelta(hours=2)
    offsets = {nightly_offset(f"T{i}", window) for i in range(50)}
    assert len(offsets) > 40
    assert all(dt.timedelta(0) <= o < window for o in offsets)
    assert nightly_offset("T1", window) == nightly_offset("T1", window)
    now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    at = next_nightly(now, "T1", dt.time(2, 0), window, dt.UTC)
    assert now < at <= now + dt.timedelta(days=1)
    assert at - dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC) == nightly_offset("T1", window)
