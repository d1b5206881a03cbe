"""The KPI summaries head office keeps at push time (sync/headoffice/reports/summaries.py) give
every figure the ledger itself gives: random ledgers pushed in random batches by two tills
(receipts split across pushes, receipt numbers used again, redemptions arriving after their
sale's earning, clocks running fast, days crossing midnight in the program's time zone,
overdrafts), and the worked example with head office's own jobs, each report read both ways on
SQLite and PostgreSQL. Rebuilding the summaries from the ledger (the migration of a database
made before them) gives the rows the pushes kept."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.db import utc_now
from loyalty.ledger import new_entry_id
from sync import protocol as p
from sync.headoffice.jobs import run_due
from sync.headoffice.reports import report, summaries
from sync.headoffice.service import HeadOffice
from sync.testing import TempPostgres
from tests.channel_fixtures import ChannelShop, channel_shop, line
from tests.integration.test_reports import at, worked_example
from tests.sync_fixtures import PROGRAM, Shop, buy, headoffice, postgres, shop, store_url

__all__ = ["channel_shop", "postgres", "shop", "store_url"]

START = at("2026-11-02T19:30:00")  # 21:30 in Athens: batches cross the shop's midnight
SIGN = {"earn": 1, "bonus": 1, "adjust": -1, "redeem": -1, "donate": -1, "reverse": -1}

entry = st.tuples(
    st.integers(0, 3),  # member
    st.sampled_from(sorted(SIGN)),
    st.integers(1, 400),  # points
    st.sampled_from(["new", "same", "same", "old", "none"]),  # receipt
    st.sampled_from([None, "coffee", "food-bank"]),
    st.booleans(),  # offline
    st.sampled_from(
        ["base", "promo:x", "refund:base", "refund:return_redeemed", "x", "engage:review_written"]
    ),  # fmt: skip
    st.integers(-2000, 400),  # occurred_at, minutes from head office's clock (ahead: fast)
)
push = st.tuples(st.integers(0, 1), st.integers(0, 900), st.lists(entry, max_size=8))


class Chains:
    """Two tills' hash chains, as their ledgers would push them."""

    def __init__(self, ho: HeadOffice) -> None:
        self.ho = ho
        self.tills = ["T0", "T1"]
        for t in self.tills:
            ho.register_till(t)
        self.seq = dict.fromkeys(self.tills, 0)
        self.prev = dict.fromkeys(self.tills, "0" * 64)
        self.receipts: dict[str, list[str]] = {t: [] for t in self.tills}

    def push(self, till: int, now: dt.datetime, specs: list[tuple[Any, ...]]) -> None:
        t = self.tills[till]
        entries = []
        for member, kind, points, receipt, reward, offline, reason, minutes in specs:
            seen = self.receipts[t]
            if receipt == "new" or (receipt in ("same", "old") and not seen):
                seen.append(f"{t}-{len(seen) + 1:05d}")
            receipt_no = {"none": None, "old": seen[0] if seen else None}.get(receipt)
            if receipt in ("new", "same"):
                receipt_no = seen[-1]
            self.seq[t] += 1
            occurred = now + dt.timedelta(minutes=minutes)
            signed = points * SIGN[kind] * (-1 if kind == "adjust" and points % 2 else 1)
            amount = points * 100 if reason in ("base", "refund:base") or kind == "donate" else 0
            e = p.WireEntry(
                entry_id=new_entry_id(), terminal_id=t, seq=self.seq[t], member_id=f"M{member}",
                kind=kind, points=signed, amount_minor=-amount if kind == "reverse" else amount,
                currency="EUR", receipt_no=receipt_no, reverses=None,
                reward_id=reward if kind in ("redeem", "donate") else None,
                program_version="2026.11.1", occurred_at=occurred.strftime(
                    "%Y-%m-%dT%H:%M:%S.%fZ"), offline=offline, cashier_id="c1", reason=reason,
                prev_hash=self.prev[t], hash="",
            )  # fmt: skip
            e = msgspec.structs.replace(e, hash=p.chain_hash(self.prev[t], e))
            self.prev[t] = e.hash
            entries.append(e)
        if entries:
            self.ho.clock = lambda: now
            self.ho.push(t, p.encode(p.PushRequest(terminal_id=t, entries=entries)), None)


def both_ways(ho: HeadOffice, now: dt.datetime, *args: Any) -> tuple[Any, Any]:
    with ho.store.transaction() as tx:
        program = ho.program(tx)
    kept = report(ho.store, program, now, *args)
    raw = report(ho.store, program, now, *args, summaries=False)
    return kept, raw


def summary_rows(ho: HeadOffice) -> dict[str, Any]:
    """The summary tables, buyers as sorted member ids (their numbers and order are the
    pushes')."""
    with ho.store.transaction() as tx:
        member = {int(no): m for no, m in tx.all("SELECT kpi_no, member_id FROM members")}
        days = [
            (*r[:-1], sorted(member[x] for x in np.frombuffer(bytes(r[-1]), dtype="<u4")))
            for r in tx.all("SELECT * FROM kpi_days ORDER BY terminal_id, day")
        ]
        return {
            "days": days,
            "counts": tx.all("SELECT * FROM kpi_counts ORDER BY terminal_id, day, figure, key"),
            "tills": tx.all("SELECT * FROM kpi_tills ORDER BY terminal_id"),
        }


def assert_same_figures(
    ho: HeadOffice, now: dt.datetime, start: str, end: str, shops: tuple[str, ...] = ("T0", "T1")
) -> None:
    for by in ("day", "week", "month"):
        for shop_id in (None, *shops):
            kept, raw = both_ways(ho, now, start, end, by, shop_id)
            assert kept == raw, (by, shop_id)


def random_ledger_agrees(ho: HeadOffice, pushes: list[tuple[int, int, list[Any]]]) -> None:
    chains = Chains(ho)
    now = START
    for till, minutes, specs in pushes:
        now += dt.timedelta(minutes=minutes)
        chains.push(till, now, specs)
    now += dt.timedelta(minutes=1)
    ho.clock = lambda: now
    assert_same_figures(ho, now, "2026-10-30", now.astimezone(ho_zone(ho)).date().isoformat())
    kept = summary_rows(ho)
    with ho.store.transaction() as tx:
        summaries.rebuild(tx, "Europe/Athens")
    assert summary_rows(ho) == kept


def ho_zone(ho: HeadOffice) -> Any:
    with ho.store.transaction() as tx:
        program = ho.program(tx)
    assert program is not None
    return program.timezone


def _examples(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


@_examples(40)
@given(st.lists(push, min_size=1, max_size=7))
def test_random_ledgers_give_the_same_figures_from_the_summaries_sqlite(
    pushes: list[tuple[int, int, list[Any]]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ho = headoffice(str(Path(tmp) / "headoffice.sqlite"))
        try:
            random_ledger_agrees(ho, pushes)
        finally:
            ho.store.close()


@_examples(12)
@given(st.lists(push, min_size=1, max_size=7))
def test_random_ledgers_give_the_same_figures_from_the_summaries_postgresql(
    postgres: TempPostgres | str, pushes: list[tuple[int, int, list[Any]]]
) -> None:
    if isinstance(postgres, str):
        pytest.skip(f"PostgreSQL cannot start here: {postgres}")
    ho = headoffice(postgres.empty_database())
    try:
        random_ledger_agrees(ho, pushes)
    finally:
        ho.store.close()


def test_the_worked_example_and_a_year_of_jobs_read_the_same_both_ways(shop: Shop) -> None:
    clock, _ = worked_example(shop)
    tills = ("ATH1", "WAW1")
    assert_same_figures(shop.ho, clock.at, "2026-11-01", "2026-11-20", tills)
    clock.at = at("2028-01-03T12:00:00")
    run_due(shop.ho, clock.at)  # expiry and tier review: head office's own entries
    assert_same_figures(shop.ho, clock.at, "2026-11-01", "2028-01-03", tills)
    kept, _ = both_ways(shop.ho, clock.at, "2028-01-01", "2028-01-03", "day")
    assert kept["period"]["points_expired"] == 765
    assert kept["tiers"]["reviews_in_period"] == {"oak>olive": 1}


def test_a_database_made_before_the_summaries_gets_them_when_opened(store_url: str) -> None:
    """The migration: summaries dropped as if never kept are rebuilt on opening, equal to the
    ones the pushes kept."""
    ho = headoffice(store_url)
    chains = Chains(ho)
    chains.push(0, START, [(0, "earn", 50, "new", None, True, "base", 0),
                           (1, "redeem", 30, "same", "coffee", True, "x", 0)])  # fmt: skip
    chains.push(0, START + dt.timedelta(hours=3), [(1, "earn", 20, "same", None, True, "base", 0)])
    kept = summary_rows(ho)
    assert len(kept["days"]) == 2  # 21:30 and 00:30 in Athens
    with ho.store.transaction() as tx:
        for table in ("kpi_days", "kpi_counts", "kpi_tills"):
            tx.run(f"DELETE FROM {table}")
        tx.run("DELETE FROM settings WHERE key = ?", (summaries.ZONE_KEY,))
        tx.run("DROP TRIGGER IF EXISTS members_kpi_no" + (" ON members" if tx.dialect ==
               "postgresql" else ""))  # fmt: skip
        tx.run("DROP INDEX members_kpi_no")
        tx.run("ALTER TABLE members DROP COLUMN kpi_no")  # members before their numbers
    ho.store.close()
    again = headoffice(store_url)
    try:
        assert summary_rows(again) == kept
        with again.store.transaction() as tx:
            numbered = tx.all("SELECT COUNT(DISTINCT kpi_no), COUNT(*) FROM members")
            assert numbered == [(2, 2)]
            again_the_same = [(m, n) for m, n in tx.all("SELECT member_id, kpi_no FROM members")]
        again.store.close()
        again = headoffice(store_url)  # opened again: nothing to do, nothing renumbered
        with again.store.transaction() as tx:
            assert sorted(tx.all("SELECT member_id, kpi_no FROM members")) == sorted(again_the_same)
    finally:
        again.store.close()


def test_a_new_time_zone_rebuilds_the_shop_days(store_url: str) -> None:
    ho = headoffice(store_url)
    try:
        chains = Chains(ho)
        chains.push(0, START, [(0, "earn", 50, "new", None, True, "base", 0)])
        with ho.store.transaction() as tx:
            assert tx.all("SELECT day FROM kpi_days") == [("2026-11-02",)]
        ho.publish_program(
            PROGRAM.replace('"Europe/Athens"', '"Asia/Bangkok"').replace(
                'version = "2026.11.1"', 'version = "2026.11.2"'
            )
        )
        with ho.store.transaction() as tx:
            assert tx.all("SELECT day FROM kpi_days") == [("2026-11-03",)]  # 02:30 in Bangkok
    finally:
        ho.store.close()


def test_a_channels_orders_refunds_redemptions_and_events_read_the_same_both_ways(
    channel_shop: ChannelShop,
) -> None:
    """The web shop's entries (its own chain, posted by head office itself) are kept in the
    summaries in the post's transaction, as a till's push is."""
    shop = channel_shop
    shop.member("ANN")
    shop.till("ATH1")
    web = shop.channel("web")
    web.ok("purchases", {"member_id": "ANN", "order_id": "W-1", "lines": [line(4000)]})
    web.ok("refunds", {"refund_id": "R-1", "order_id": "W-1", "amount_minor": 1000})
    shop.clock.advance(days=15)  # W-1's points are out of their return window
    web.ok("purchases", {"member_id": "ANN", "order_id": "W-2", "lines": [line(2000)]})
    web.ok("redemptions", {"member_id": "ANN", "redemption_id": "X-1", "order_id": "W-2",
                           "points": 100})  # fmt: skip
    web.ok("events", {"member_id": "ANN", "event_id": "E-1", "action": "review_written"})
    now = shop.clock.now
    assert_same_figures(shop.ho, now, "2026-11-25", "2026-12-16", ("ATH1",))
    kept, _ = both_ways(shop.ho, now, "2026-12-01", "2026-12-16", "month")
    assert kept["period"]["purchases"] == 2  # two orders; the redemption is on W-2
    assert kept["period"]["points_redeemed"] == 100
    assert kept["period"]["engagement_by_action"] == {
        "review_written": {"events": 1, "points": 50, "taken_back": 0, "points_taken_back": 0}
    }


def test_engagement_counts_what_was_paid_and_what_head_office_took_back(store_url: str) -> None:
    """A till records a review (only channels may) and a profile completed twice (once ever):
    head office takes back the review and the second profile; both ways agree."""
    ho = headoffice(store_url)
    try:
        chains = Chains(ho)
        chains.push(0, START, [(0, "bonus", 50, "none", None, True, "engage:review_written", 0),
                               (0, "bonus", 100, "none", None, True, "engage:profile_completed", 0),
                               (0, "bonus", 100, "none", None, True, "engage:profile_completed",
                                0)])  # fmt: skip
        now = START + dt.timedelta(minutes=1)
        kept, raw = both_ways(ho, now, "2026-11-02", "2026-11-02", "day")
        assert kept == raw
        assert kept["period"]["engagement_by_action"] == {
            "profile_completed": {"events": 2, "points": 200, "taken_back": 1,
                                  "points_taken_back": 100},
            "review_written": {"events": 1, "points": 50, "taken_back": 1,
                               "points_taken_back": 50},
        }  # fmt: skip
        shop_kept, _ = both_ways(ho, now, "2026-11-02", "2026-11-02", "day", "T0")
        assert shop_kept["period"]["engagement_by_action"]["review_written"]["taken_back"] == 0
    finally:
        ho.store.close()


def test_a_credited_referral_is_counted_and_its_bonuses_are_points_issued(shop: Shop) -> None:
    a, c_a = shop.till("ATH1")
    anna = a.enroll("Anna", "cashier1", True).member
    c_a.sync()
    b, c_b = shop.till("ATH2")
    bea = b.enroll("Bea", "cashier2", True, referred_by=anna.referral_code).member
    buy(b, bea.member_id, 3000)  # her first qualifying purchase: 30 + 100 welcome
    c_b.sync()
    now = utc_now()
    today = now.astimezone(ho_zone(shop.ho)).date().isoformat()
    assert_same_figures(shop.ho, now, today, today, ("ATH1", "ATH2"))
    kept, _ = both_ways(shop.ho, now, today, today, "day")
    assert kept["period"]["referrals"] == {"credited": 1, "refused_by_reason": {}}
    assert kept["period"]["points_issued"] == 30 + 100 + 100 + 200  # and both referral bonuses
    at_athens, _ = both_ways(shop.ho, now, today, today, "day", "ATH1")
    assert at_athens["period"]["referrals"]["credited"] == 0  # Bea enrolled at ATH2


def test_an_upgrade_at_a_purchase_is_a_tier_move_beside_head_offices_reviews(
    store_url: str,
) -> None:
    """M0 joins Olive with EUR 100 of spend, reaches Oak's EUR 500 with the next push: one
    move, counted as head office folds the push (no entry records it), kept by a rebuild."""
    ho = headoffice(store_url)
    try:
        chains = Chains(ho)
        chains.push(0, START, [(0, "earn", 100, "new", None, True, "base", 0)])
        later = START + dt.timedelta(hours=1)
        chains.push(0, later, [(0, "earn", 450, "new", None, True, "base", 0)])
        now = later + dt.timedelta(minutes=1)
        kept, raw = both_ways(ho, now, "2026-11-01", "2026-11-02", "day")
        assert kept == raw
        assert kept["tiers"]["moves_in_period"] == {"olive>oak": 1}  # joining Olive is none
        assert kept["tiers"]["reviews_in_period"] == {}
        with ho.store.transaction() as tx:
            summaries.rebuild(tx, "Europe/Athens")
        assert both_ways(ho, now, "2026-11-01", "2026-11-02", "day")[0] == kept
    finally:
        ho.store.close()
