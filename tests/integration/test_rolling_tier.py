"""A rolling tier window, aged on the tills' own clocks: two real tills and a real head office
(SQLite and PostgreSQL), time moved by an injected clock. Each shop day's spend leaves the
window at the shop's midnight (Athens), at head office and at every till, offline or not."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from loyalty.balance import compute
from loyalty.members import MemberSnapshot, upsert
from loyalty.program import parse_program
from sync import protocol as p
from sync.headoffice.jobs import run_due
from sync.headoffice.serve import ServerThread
from sync.headoffice.service import HeadOffice
from sync.headoffice.store import open_store
from tests.sync_fixtures import ADMIN, PROGRAM, Shop, buy, postgres, store_url

__all__ = ["postgres", "store_url"]

ROLLING = (
    PROGRAM.replace('version = "2026.11.1"', 'version = "2027.3.1-rolling"')
    .replace('window = "calendar_year"', 'window = "rolling"')
    .replace("window_days = 365", "window_days = 30")
)


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def utc(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2027, month, day, hour, minute, tzinfo=dt.UTC)


@pytest.fixture
def shop(store_url: str, tmp_path: Path) -> Iterator[Shop]:
    ho = HeadOffice(open_store(store_url), admin_token=ADMIN, mint_code=lambda m: f"APP.{m}")
    ho.publish_program(ROLLING)
    server = ServerThread(ho)
    shop = Shop(ho, server.start(), tmp_path)
    yield shop
    shop.close()
    server.stop()
    ho.store.close()


def test_a_rolling_tier_lapses_at_every_till_at_the_shops_midnight(shop: Shop) -> None:
    """Oak (EUR 500 in the last 30 days): Ann spends EUR 300 at till A on 1 March and EUR 250
    at till B on 10 March. The 1 March spend counts through 30 March, shop time; at Athens
    midnight (21:00 UTC, summer time since 28 March) both tills show Olive, offline, and head
    office's tier review agrees; her next EUR 300 makes her Oak again at once."""
    clock = Clock(utc(3, 1))
    shop.ho.clock = clock
    shop.member("ANN")
    a, c_a = shop.till("ATH1", clock=clock)
    b, c_b = shop.till("ATH2", clock=clock)
    assert a.program.tier_rule.window == b.program.tier_rule.window == "rolling"
    buy(a, "ANN", 30000, clock())
    c_a.sync()
    clock.at = utc(3, 10)
    buy(b, "ANN", 25000, clock())
    c_b.sync()
    c_a.sync()
    hq = shop.ho.member("ANN")
    assert (hq.tier_id, hq.tier_progress) == ("oak", 55000)
    assert hq.tier_days == [("2027-03-01", 30000), ("2027-03-10", 25000)]
    # The tills hear nothing more from here on.
    for till in (a, b):
        seen = till.balance("ANN", utc(3, 30, 20, 59))
        assert (seen.tier_id, seen.tier_progress) == ("oak", 55000), till.terminal_id
        seen = till.balance("ANN", utc(3, 30, 21, 0))
        assert (seen.tier_id, seen.provisional_tier_id) == ("olive", "olive"), till.terminal_id
        assert (seen.tier_progress, seen.to_next_tier) == (25000, 25000), till.terminal_id
    clock.at = utc(3, 30, 21, 0)
    assert run_due(shop.ho, clock()).tier_changes == 1
    hq = shop.ho.member("ANN")
    assert (hq.tier_id, hq.tier_progress, hq.tier_days) == ("olive", 25000, [("2027-03-10", 25000)])
    # Spend on 31 March counts at once, on top of what is left of the window.
    clock.at = utc(3, 31)
    sale = buy(a, "ANN", 30000, clock())
    assert (sale.after.tier_id, sale.after.provisional_tier_id) == ("olive", "oak")
    c_a.sync()
    c_b.sync()
    for till in (a, b):
        seen = till.balance("ANN", clock())
        assert (seen.tier_id, seen.tier_progress, seen.unsynced_points) == ("oak", 55000, 0)
    # 10 March's spend leaves on 9 April at Athens midnight: EUR 300 left, Olive again.
    for till in (a, b):
        seen = till.balance("ANN", utc(4, 9, 21, 0))
        assert (seen.tier_id, seen.tier_progress) == ("olive", 30000), till.terminal_id
    clock.at = utc(4, 9, 21, 0)
    run_due(shop.ho, clock())
    assert (shop.ho.member("ANN").tier_id, shop.ho.member("ANN").tier_progress) == ("olive", 30000)


def test_a_snapshot_without_tier_days_loads_and_keeps_its_tier(tmp_path: Path) -> None:
    """An older head office's answer has no ``tier_days``: it decodes, the till stores it, and
    the till keeps head office's tier and progress (it cannot age what it was not told)."""
    from loyalty.till import Till

    till = Till.open(tmp_path / "T1", must_exist=False)
    till.initialise("T1", ROLLING, "rolling.toml")
    old = (
        b'{"member_id":"ANN","snapshot_at":"2027-03-10T10:00:00.000000Z",'
        b'"tier_id":"oak","tier_progress":55000}'
    )
    state = msgspec.json.decode(old, type=p.MemberState)
    assert state.tier_days == []
    with till.db.write() as conn:
        upsert(conn, [p.snapshot(state)], "2027-03-10T10:00:00.000000Z")
    later = till.balance("ANN", utc(6, 1))
    assert (later.tier_id, later.tier_progress) == ("oak", 55000)
    # Told the days, the same till ages them.
    told = MemberSnapshot(
        "ANN", "2027-03-10T10:00:01.000000Z", tier_id="oak", tier_progress=55000,
        tier_days=(("2027-03-01", 30000), ("2027-03-10", 25000)),
    )  # fmt: skip
    with till.db.write() as conn:
        upsert(conn, [told], "2027-03-10T10:00:01.000000Z")
    later = till.balance("ANN", utc(6, 1))
    assert (later.tier_id, later.tier_progress) == ("olive", 0)
    program = parse_program(ROLLING, "rolling")
    with till.db.read() as conn:
        from loyalty import members

        member = members.get(conn, "ANN")
    assert member is not None and member.tier_days == told.tier_days
    assert compute(program, member, (), utc(3, 20)).tier_id == "oak"
    till.close()


@pytest.mark.parametrize(
    "days",
    [(("2027-3-1", 5),), (("2027-03-01", 10**13),), tuple(("2027-03-01", 1) for _ in range(3661))],
)
def test_tier_days_the_till_cannot_read_are_refused_and_change_nothing(
    tmp_path: Path, days: tuple[tuple[str, int], ...]
) -> None:
    from loyalty.errors import BadInput
    from loyalty.members import check_snapshot

    with pytest.raises(BadInput) as info:
        check_snapshot(MemberSnapshot("ANN", "2027-03-10T10:00:00.000000Z", tier_days=days))
    assert info.value.code == "malformed_tier_days"
