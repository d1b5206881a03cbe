"""Head office's due jobs on the calendar (expiry, tier review, pending release), with an
injected clock: two real tills and a real head office (SQLite and PostgreSQL). Each job writes
its entries once, run twice or by two head-office processes at once, and its results reach the
tills through their normal pull."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest

from loyalty.db import utc_now
from sync.headoffice import jobs
from sync.headoffice.jobs import JobsReport, run_due
from sync.headoffice.own_entries import HEADOFFICE
from sync.headoffice.service import HeadOffice
from sync.headoffice.store import open_store
from tests.e2e.test_once_chain_wide import total_points
from tests.sync_fixtures import Shop, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]


class Clock:
    def __init__(self) -> None:
        self.at: dt.datetime | None = None

    def __call__(self) -> dt.datetime:
        return self.at or utc_now()


def own_entries(ho: HeadOffice) -> list[tuple[str, str, int, str]]:
    with ho.store.transaction() as tx:
        rows = tx.all(
            "SELECT member_id, kind, points, reason FROM entries WHERE terminal_id = ? "
            "ORDER BY seq",
            (HEADOFFICE,),
        )
    return [(r[0], r[1], int(r[2]), r[3]) for r in rows]


def assert_agree(shop: Shop, member_id: str, now: dt.datetime, *tills: object) -> None:
    hq = shop.ho.member(member_id)
    pending = sum(points for points, _ in hq.pending)
    assert hq.balance + pending == total_points(shop.ho, member_id)
    for till in tills:
        local = till.balance(member_id, now)  # type: ignore[attr-defined]
        assert (local.available, local.pending, local.tier_id) == (hq.balance, pending, hq.tier_id)


def test_points_expire_and_tiers_lapse_on_the_calendar_whether_or_not_she_buys(
    shop: Shop,
) -> None:
    clock = Clock()
    shop.ho.clock = clock
    shop.member("ANN")
    athens, c_athens = shop.till("ATH1", clock=clock)
    warsaw, c_warsaw = shop.till("WAW1", clock=clock)
    buy(athens, "ANN", 60000)  # 600 + 100 welcome points, EUR 600 of spend this year: Oak
    c_athens.sync()
    c_warsaw.sync()
    year = utc_now().year
    hq = shop.ho.member("ANN")
    assert (hq.balance, sum(p for p, _ in hq.pending), hq.tier_id) == (0, 700, "oak")
    assert hq.expiring_points == 700 and hq.expiring_at == f"{year + 1}-12-31T22:00:00.000000Z"

    # Three weeks later: the return window closed; the points are spendable at head office
    # and, after the pull, at both tills. Nothing is written to the ledger for it.
    clock.at = utc_now() + dt.timedelta(days=21)
    report = run_due(shop.ho)
    assert (report.members_changed, report.expire_entries, report.tier_changes) == (1, 0, 0)
    assert shop.ho.member("ANN").balance == 700
    c_athens.sync()
    c_warsaw.sync()
    assert_agree(shop, "ANN", clock(), athens, warsaw)

    # 2 January next year: she has not bought since. The calendar year that qualified her is
    # over: the tier review takes her back to Olive.
    clock.at = dt.datetime(year + 1, 1, 2, 12, tzinfo=dt.UTC)
    report = run_due(shop.ho)
    assert report.tier_changes == 1
    assert own_entries(shop.ho)[-1] == ("ANN", "adjust", 0, "tier_review:oak:olive")
    hq = shop.ho.member("ANN")
    assert (hq.tier_id, hq.tier_progress, hq.balance) == ("olive", 0, 700)
    c_athens.sync()
    c_warsaw.sync()
    assert_agree(shop, "ANN", clock(), athens, warsaw)

    # 1 February the year after: the points of two years ago expired at the end of last year.
    clock.at = dt.datetime(year + 2, 2, 1, 12, tzinfo=dt.UTC)
    report = run_due(shop.ho)
    assert (report.expire_entries, report.points_expired) == (1, 700)
    assert own_entries(shop.ho)[-1] == ("ANN", "expire", -700, "expiry")
    hq = shop.ho.member("ANN")
    assert (hq.balance, hq.expiring_points, hq.expiring_at) == (0, 0, None)
    c_athens.sync()
    c_warsaw.sync()
    assert_agree(shop, "ANN", clock(), athens, warsaw)

    # Run again: nothing more is written, nothing changes.
    entries = shop.ho.entry_count()
    again = run_due(shop.ho)
    assert (again.members_changed, again.expire_entries, again.tier_changes) == (0, 0, 0)
    assert shop.ho.entry_count() == entries


def test_two_head_office_processes_running_the_jobs_at_once_write_each_entry_once(
    shop: Shop, store_url: str
) -> None:
    clock = Clock()
    shop.ho.clock = clock
    members = [f"M{i:03d}" for i in range(40)]
    for member_id in members:
        shop.member(member_id)
    till, client = shop.till("ATH1", clock=clock)
    for i, member_id in enumerate(members):
        buy(till, member_id, 1000 + i * 100)
    client.sync()
    later = dt.datetime(utc_now().year + 2, 2, 1, 12, tzinfo=dt.UTC)
    # A second head office on the same database (its own connections), both at once, in
    # small pages so that they interleave.
    other = HeadOffice(open_store(store_url))
    reports: list[JobsReport] = []
    errors: list[BaseException] = []

    def run(ho: HeadOffice) -> None:
        try:
            reports.append(run_due(ho, later, page=7))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(ho,)) for ho in (shop.ho, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    other.store.close()
    assert not errors, errors
    expired = [e for e in own_entries(shop.ho) if e[1] == "expire"]
    assert sorted(e[0] for e in expired) == members  # each member's expiry, once
    assert sum(r.expire_entries for r in reports) == len(members)
    with shop.ho.store.transaction() as tx:
        rows = tx.all("SELECT seq FROM entries WHERE terminal_id = ? ORDER BY seq", (HEADOFFICE,))
    seqs = [int(r[0]) for r in rows]
    assert seqs == list(range(1, len(seqs) + 1))
    for member_id in members:
        hq = shop.ho.member(member_id)
        assert (hq.balance, hq.pending, hq.expiring_points) == (0, [], 0)
        assert total_points(shop.ho, member_id) == 0


def test_the_jobs_skip_members_a_push_holds_and_finish_them_later_in_the_same_run(
    shop: Shop, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push holding some members' rows does not hold up the job's pages (on PostgreSQL they
    skip those members); the run still ends with every member done, once, even when the push
    holds them through every skipping pass (the last pass waits: no livelock)."""
    monkeypatch.setattr(jobs, "SKIP_PAUSE", 0.01)
    clock = Clock()
    shop.ho.clock = clock
    members = [f"M{i:03d}" for i in range(30)]
    for member_id in members:
        shop.member(member_id)
    till, client = shop.till("ATH1", clock=clock)
    for i, member_id in enumerate(members):
        buy(till, member_id, 1000 + i * 100)
    client.sync()
    later = dt.datetime(utc_now().year + 2, 2, 1, 12, tzinfo=dt.UTC)
    held = members[8:14]
    postgresql = not store_url.endswith(".sqlite")
    locked, waiting_pass = threading.Event(), threading.Event()

    class Passes(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            args = record.args if isinstance(record.args, tuple) else ()
            if "held by others" in record.msg and int(args[1]) > jobs.SKIP_PASSES:
                waiting_pass.set()

    handler = Passes()
    logging.getLogger("sync.headoffice.jobs").addHandler(handler)
    logging.getLogger("sync.headoffice.jobs").setLevel(logging.INFO)
    # A push on its own connection: the members' rows locked until it commits, which it does
    # once the job's pass that waits has begun (PostgreSQL), or after a moment (SQLite's one
    # writer: the job waits for it).
    push = HeadOffice(open_store(store_url))

    def hold() -> None:
        with push.store.transaction() as tx:
            tx.lock_members(held)
            locked.set()
            waiting_pass.wait(30 if postgresql else 0.3)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(30)
        report = run_due(shop.ho, later, page=4)
        skipped_then_waited = waiting_pass.is_set()
    finally:
        waiting_pass.set()
        holder.join(60)
        push.store.close()
        logging.getLogger("sync.headoffice.jobs").removeHandler(handler)
    assert skipped_then_waited == postgresql  # SQLite's one writer: nothing to skip
    assert (report.members_checked, report.expire_entries) == (len(members), len(members))
    expired = [e for e in own_entries(shop.ho) if e[1] == "expire"]
    assert sorted(e[0] for e in expired) == members  # each member's expiry, once
    for member_id in members:
        hq = shop.ho.member(member_id)
        assert (hq.balance, hq.pending, hq.expiring_points) == (0, [], 0)
        assert total_points(shop.ho, member_id) == 0
    again = run_due(shop.ho, later, page=4)
    assert (again.members_changed, again.expire_entries) == (0, 0)
