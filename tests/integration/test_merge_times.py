"""A merge moves a duplicate's points with their own time: pending days, expiry and the tier
window run from the sale, not from the merge. Two real tills and a real head office (SQLite and
PostgreSQL), head office's clock and the tills' moved together by an injected clock."""

from __future__ import annotations

import datetime as dt

from loyalty.db import to_text, utc_now
from sync.headoffice.jobs import run_due
from tests.sync_fixtures import Shop, assert_exactly_once, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def at(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


def by_release(pending: list[tuple[int, str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for points, release in pending:
        out[release] = out.get(release, 0) + points
    return out


def test_points_moved_by_a_merge_keep_their_release_expiry_and_tier_year(shop: Shop) -> None:
    """Ola is enrolled at till A on 28 December 2026, her duplicate at till B on the 30th (each
    buys there); head office merges them on 5 January 2027, when till A first syncs. The
    duplicate's 25 points were earned on 30 December: they are spendable when that sale's
    14 days are over (13 January, not 19), expire when 2027 ends (not 2028), and its spend
    counts for 2026's tier, not 2027's, at head office and at both tills."""
    clock = Clock(at(2026, 12, 28))
    shop.ho.clock = clock
    a, c_a = shop.till("WAW1", country="PL", clock=clock)
    b, c_b = shop.till("WAW2", country="PL", clock=clock)
    ola = a.enroll("Ola", "cashier1", True, "pl", phone="600 100 200", now=clock()).member
    buy(a, ola.member_id, 4200, clock())  # 42 + the welcome bonus (100); A stays offline
    clock.at = at(2026, 12, 30)
    dup = b.enroll("Aleksandra", "cashier2", True, "pl", phone="+48 600 100 200", now=clock())
    dup_id = dup.member.member_id
    buy(b, dup_id, 2500, clock())  # 25 + a second welcome bonus, taken back by the merge
    c_b.sync()
    clock.at = at(2027, 1, 5)
    c_a.sync()  # Ola was enrolled first: the duplicate is merged into her now
    c_b.sync()
    assert shop.ho.member(dup_id).merged_into == ola.member_id
    hq = shop.ho.member(ola.member_id)
    assert by_release(hq.pending) == {
        to_text(at(2027, 1, 11)): 142,
        to_text(at(2027, 1, 13)): 25,
    }
    assert hq.tier_progress == 0  # both sales counted for 2026's tier, none for 2027's
    for till in (a, b):
        seen = till.balance(ola.member_id, clock())
        assert (seen.available, seen.pending, seen.tier_progress) == (0, 167, 0), till.terminal_id
        assert seen.pending_release_at == at(2027, 1, 11), till.terminal_id
    # 13 January, noon: both sales' return windows are over, on each till's own clock.
    clock.at = at(2027, 1, 13, 12)
    athens_new_year_2028 = dt.datetime(2027, 12, 31, 22, tzinfo=dt.UTC)
    for till in (a, b):
        seen = till.balance(ola.member_id, clock())
        assert (seen.available, seen.pending) == (167, 0), till.terminal_id
        assert (seen.expiring_points, seen.expiring_at) == (167, athens_new_year_2028)
    run_due(shop.ho, clock())
    hq = shop.ho.member(ola.member_id)
    assert (hq.balance, hq.pending) == (167, [])
    assert (hq.expiring_points, hq.expiring_at) == (167, to_text(athens_new_year_2028))
    # 2 January 2028: all of it expired, at the tills before they hear of it and after.
    clock.at = at(2028, 1, 2, 12)
    for till in (a, b):
        assert till.balance(ola.member_id, clock()).available == 0, till.terminal_id
    report = run_due(shop.ho, clock())
    assert report.points_expired == 167
    c_a.sync()
    c_b.sync()
    assert shop.ho.member(ola.member_id).balance == 0
    for till in (a, b):
        seen = till.balance(ola.member_id, clock())
        assert (seen.available, seen.pending, seen.unsynced_points) == (0, 0, 0)
    assert_exactly_once(shop.ho, a, b)


def test_a_merge_made_today_of_points_earned_today_changes_no_time(shop: Shop) -> None:
    """The usual case: moved points keep the release time they had (the sale's, not a later
    one), so a merge changes no date the shopper was told on the receipt."""
    a, c_a = shop.till("WAW1", country="PL")
    b, c_b = shop.till("WAW2", country="PL")
    earlier = utc_now() - dt.timedelta(minutes=5)
    ola = a.enroll("Ola", "cashier1", True, "pl", phone="600 100 200", now=earlier).member
    dup = b.enroll("Ola", "cashier2", True, "pl", phone="600100200")
    sale = buy(b, dup.member.member_id, 3100)
    c_b.sync()
    before = shop.ho.member(dup.member.member_id).pending
    c_a.sync()
    c_b.sync()
    after = shop.ho.member(ola.member_id).pending
    assert by_release(after) == by_release(before)
    assert sum(by_release(after).values()) == 131
    assert b.balance(ola.member_id).pending_release_at == sale.after.pending_release_at
