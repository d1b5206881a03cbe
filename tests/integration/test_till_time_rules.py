"""The till applies the program's time rules to its cached balances on its own clock (an
injected ``now``): expired points are never spendable offline, a lapsed tier is never shown,
and head office's own expire and tier entries, when they arrive, are not taken twice."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty import outbox, sales
from loyalty.db import to_text
from loyalty.errors import Refused
from loyalty.members import MemberSnapshot
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest
from loyalty.till import Till

NEW_YEAR = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)  # 02:00 in Athens, the program's zone


def sell(till: Till, now: dt.datetime, member: str, **kw: object) -> sales.SaleResult:
    lines = kw.pop("lines", (BasketLine("OIL", "pantry", 2000),))
    return sales.sale(till, SaleRequest(member, "anna", lines, **kw), now)  # type: ignore[arg-type]


def snapshot(at: dt.datetime, **fields: object) -> MemberSnapshot:
    base: dict[str, object] = {
        "card_number": "400000000028",
        "display_name": "Ioana",
        "language": "ro",
        "tier_id": "olive",
        "has_purchased": True,
    }
    return MemberSnapshot("M000009", to_text(at), **{**base, **fields})  # type: ignore[arg-type]


def synced(till: Till, at: dt.datetime) -> None:
    """A complete pull at ``at`` on head office's clock (the till's clock agrees)."""
    outbox.apply_page(till, outbox.ChangePage(f"c{at}", server_time=at, complete=True), at)


def test_points_past_their_expiry_are_not_spendable_offline(till: Till, now: dt.datetime) -> None:
    expiry = now + dt.timedelta(days=2)
    till.apply_snapshots(
        [snapshot(now, balance=1200, expiring_points=400, expiring_at=to_text(expiry))], now
    )
    before = till.balance("M000009", now)
    assert (before.available, before.expiring_points, before.expiring_at) == (1200, 400, expiry)
    # An offline redemption before the expiry takes the soonest-expiring points first.
    coffee = (BasketLine("CAFE-001", "cafe", 280), BasketLine("OIL", "pantry", 2000))
    sell(till, now, "M000009", reward_id="coffee", lines=coffee)  # 250 points
    mid = till.balance("M000009", now)
    assert (mid.available, mid.expiring_points) == (950, 150)
    after = expiry + dt.timedelta(hours=1)
    synced(till, after)  # the snapshot is fresh: only expiry is in question
    late = till.balance("M000009", after)
    assert (late.available, late.expiring_points, late.expiring_at) == (800, 0, None)
    with pytest.raises(Refused) as info:
        sell(till, after, "M000009", payment_points=900)  # 950 before the expiry
    assert info.value.code == "insufficient_points"
    # Head office's expire entry (150) and the acknowledged redemption arrive together: the
    # till does not take the 150 twice.
    entries = outbox.pending_entries(till, 100)
    settled_snapshot = snapshot(after, balance=800, pending=((15, to_text(now)),))
    outbox.acknowledge(till, [e.seq for e in entries], [settled_snapshot], now=after)
    settled = till.balance("M000009", after)
    assert (settled.available, settled.expiring_points, settled.unsynced_points) == (815, 0, 0)


def test_expiring_points_never_exceed_what_the_member_holds(till: Till, now: dt.datetime) -> None:
    expiry = to_text(now + dt.timedelta(days=30))
    till.apply_snapshots(
        [snapshot(now, balance=1750, expiring_points=2000, expiring_at=expiry)], now
    )
    assert till.balance("M000009", now).expiring_points == 1750


def test_a_calendar_year_tier_lapses_at_new_year_on_the_till_clock(
    till: Till, now: dt.datetime
) -> None:
    """Piotr was oak (EUR 600 in 2026); on the till's clock 2027 has begun: he is olive again
    until this year's spend qualifies him, and the sale earns olive's rate."""
    assert till.balance("M000002", now).tier_id == "oak"
    new_year = NEW_YEAR + dt.timedelta(hours=1)
    synced(till, new_year)
    lapsed = till.balance("M000002", new_year)
    assert (lapsed.tier_id, lapsed.provisional_tier_id, lapsed.tier_progress) == (
        "olive",
        "olive",
        0,
    )
    assert lapsed.to_next_tier == 50000
    # A sale on 31 December (Athens) still counted 2026; one in 2027 counts 2027.
    eve = NEW_YEAR - dt.timedelta(hours=3)
    assert till.balance("M000002", eve).tier_id == "oak"
    big = sell(till, new_year, "M000002", lines=(BasketLine("HAM", "deli", 52000),))
    assert {line.reason for line in big.earned} == {"base"}  # no oak bonus: the tier lapsed
    after = till.balance("M000002", new_year)
    assert (after.tier_id, after.provisional_tier_id, after.tier_progress) == (
        "olive",
        "oak",
        52000,
    )
    # Head office's tier review of 2027 arrives (progress 0, olive); the till's unsynced sale
    # is added on top once, not twice.
    till.apply_snapshots(
        [MemberSnapshot("M000002", to_text(new_year), card_number="400000000010",
                        display_name="Piotr", language="pl", balance=5000, tier_id="olive",
                        tier_progress=0, has_purchased=True)],
        new_year,
    )  # fmt: skip
    again = till.balance("M000002", new_year)
    assert (again.tier_id, again.provisional_tier_id, again.tier_progress) == (
        "olive",
        "oak",
        52000,
    )
