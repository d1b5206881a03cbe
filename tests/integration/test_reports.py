"""Head office's KPIs against a ledger small enough to add up by hand (docs/kpis.md's worked
example): two real tills push to a real head office on 127.0.0.1 (SQLite and PostgreSQL), with
an injected clock; then head office's jobs expire the points and review the tiers a year later.
Bad input gets a refusal with a code, never a figure."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from loyalty.ledger import entry_hash, new_entry_id
from loyalty.refunds import refund
from sync.client import SyncClient
from sync.headoffice.jobs import run_due
from sync.headoffice.reports import ReportError, csv_text, report
from sync.headoffice.service import HeadOffice
from tests.sync_fixtures import Shop, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


class Clock:
    def __init__(self, when: str) -> None:
        self.at = at(when)

    def __call__(self) -> dt.datetime:
        return self.at


def kpis(ho: HeadOffice, now: dt.datetime, *args: Any, **kw: Any) -> dict[str, Any]:
    with ho.store.transaction() as tx:
        program = ho.program(tx)
    return report(ho.store, program, now, *args, **kw)


def rate(numerator: int, denominator: int) -> dict[str, int | None]:
    bp = None if denominator == 0 else numerator * 10_000 // denominator
    return {"numerator": numerator, "denominator": denominator, "basis_points": bp}


def worked_example(shop: Shop) -> tuple[Clock, dict[str, str]]:
    """docs/kpis.md, "Worked example"."""
    clock = Clock("2026-11-02T10:00:00")
    shop.ho.clock = clock
    athens, c_athens = shop.till("ATH1", clock=clock)
    warsaw, c_warsaw = shop.till("WAW1", clock=clock)
    ann = athens.enroll("Ann", "cashier1", True, now=clock.at).member.member_id
    bob = athens.enroll("Bob", "cashier1", True, now=clock.at).member.member_id
    c_athens.sync()
    c_warsaw.sync()
    buy(athens, ann, 12500, now=clock.at)  # 125 + 100 welcome
    bobs = buy(athens, bob, 4000, now=clock.at)  # 40 + 100 welcome
    c_athens.sync()
    c_warsaw.sync()
    clock.at = at("2026-11-05T10:00:00")
    cat = warsaw.enroll("Cat", "cashier2", True, now=clock.at).member.member_id
    buy(warsaw, ann, 1000, now=clock.at)  # 10
    buy(warsaw, cat, 60000, now=clock.at)  # 600 + 100 welcome: Oak
    refund(athens, bobs.receipt_no, "cashier1", now=clock.at)  # -40, -100
    c_athens.sync()
    c_warsaw.sync()
    clock.at = at("2026-11-18T10:00:00")
    c_athens.sync()
    buy(athens, ann, 3000, now=clock.at, reward_id="food-bank")  # -200 donated, +30
    c_athens.sync()
    clock.at = at("2026-11-20T12:00:00")
    return clock, {"ann": ann, "bob": bob, "cat": cat}


def test_the_worked_example_adds_up_by_hand(shop: Shop) -> None:
    clock, who = worked_example(shop)
    doc = kpis(shop.ho, clock.at, "2026-11-01", "2026-11-20", "week")
    assert [b["bucket"] for b in doc["buckets"]] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    w45, w47 = doc["buckets"][1], doc["buckets"][3]
    assert (w45["from"], w45["to"]) == ("2026-11-02", "2026-11-08")
    assert w45["enrolments"] == 3
    assert w45["enrolments_by_source"] == {"ATH1": 2, "WAW1": 1}
    assert w45["points_issued"] == 125 + 100 + 40 + 100 + 10 + 600 + 100
    assert w45["points_reversed"] == 140
    assert w45["purchases"] == 4  # a refund's receipt is not a purchase
    assert w45["buying_members"] == 3
    assert w45["member_spend_minor"] == 12500 + 4000 + 1000 + 60000 - 4000
    assert w45["member_aov_minor"] == 73500 // 4
    assert w45["redemption_rate"] == rate(0, 1075)
    assert w45["offline_share"] == rate(0, 0)  # no redemption: no share at all
    assert (w47["points_issued"], w47["points_redeemed"]) == (30, 200)
    assert w47["offline_share"] == rate(1, 1)  # stand-in approval at the till
    assert doc["buckets"][2]["member_aov_minor"] is None  # nothing bought: no average
    whole = doc["period"]
    assert whole["points_issued"] == 1105
    assert whole["redemption_rate"] == rate(200, 1105)
    assert whole["redemption_rate"]["basis_points"] == 1809
    assert whole["buying_members"] == 3
    assert whole["repeat_buyers"] == 1  # Ann: three receipts
    assert whole["repeat_purchase_rate"] == rate(1, 3)
    assert whole["purchase_frequency"] == rate(5, 3)
    assert whole["member_aov_minor"] == 76500 // 5
    assert whole["active_members"] == {"30d": 3, "90d": 3, "365d": 3}
    assert whole["by_reward"] == {
        "food-bank": {"effect": "donation", "redeemed": 1, "returned": 0, "points": 200,
                      "value_minor": 200},
    }  # fmt: skip
    assert whole["donations_by_charity_minor"] == {"Athens Food Bank": 200}
    out = doc["outstanding"]
    # Ann 225 + 10 - 200 (+30 pending till 2 Dec), Cat 700; Bob's were refunded.
    assert out["points"] == {"available": 735, "pending": 30, "overdrawn": 0,
                             "expiring_30d": 0, "expiring_90d": 0}  # fmt: skip
    assert out["value_minor"]["available"] == 735  # 100 points pay EUR 1.00
    assert doc["tiers"]["distribution_now"] == {"oak": 1, "olive": 2}
    assert doc["cohorts"] == [{"cohort": "2026-11", "members": 3, "months": [rate(3, 3)]}]
    tills = {t["terminal_id"]: t for t in doc["tills"]}
    assert tills["ATH1"]["last_push"] == "2026-11-18T10:00:00.000000Z"
    assert tills["ATH1"]["since_last_push_s"] == 2 * 86400 + 2 * 3600
    assert tills["WAW1"]["open_alerts"] == 0

    athens = kpis(shop.ho, clock.at, "2026-11-01", "2026-11-20", "month", shop="ATH1")
    assert [b["bucket"] for b in athens["buckets"]] == ["2026-11"]
    month = athens["buckets"][0]
    assert (month["points_issued"], month["purchases"], month["enrolments"]) == (395, 3, 2)
    assert athens["period"]["repeat_purchase_rate"] == rate(1, 2)
    assert [t["terminal_id"] for t in athens["tills"]] == ["ATH1"]
    assert athens["cohorts"] == [{"cohort": "2026-11", "members": 2, "months": [rate(2, 2)]}]

    lines = csv_text(doc).splitlines()
    assert lines[0].startswith("bucket,from,to,enrolments,points_issued")
    assert lines[2].startswith("2026-W45,2026-11-02,2026-11-08,3,1075,0,0,140,0,4,3,73500,18375,")
    assert len(lines) == 5


def test_a_year_later_points_expire_tiers_lapse_and_the_cohort_stops_buying(shop: Shop) -> None:
    clock, who = worked_example(shop)
    clock.at = at("2028-01-03T09:00:00")
    run_due(shop.ho)
    doc = kpis(shop.ho, clock.at, "2026-11-01", "2028-01-03", "month")
    whole = doc["period"]
    assert whole["points_expired"] == 765  # all of 2026's points, at the end of 2027
    assert whole["breakage_rate"] == rate(765, 1105)
    assert doc["outstanding"]["points"]["available"] == 0
    assert doc["tiers"]["distribution_now"] == {"olive": 3}
    assert doc["tiers"]["reviews_in_period"] == {"oak>olive": 1}
    assert whole["active_members"] == {"30d": 0, "90d": 0, "365d": 0}
    (cohort,) = doc["cohorts"]
    assert cohort["months"][0] == rate(3, 3)
    assert cohort["months"][1:] == [rate(0, 3)] * 14
    january = doc["buckets"][-1]
    assert (january["bucket"], january["points_expired"]) == ("2028-01", 765)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("2026-11-20", "2026-11-01"), "range_reversed"),
        (("2026-11-01", "2026-12-01"), "range_in_future"),
        (("2016-11-01", "2026-11-01"), "range_too_long"),
        (("2026-13-01", "2026-11-01"), "bad_date"),
        (("2026-11-01", "2026-11-20", "fortnight"), "bad_grouping"),
        (("2026-11-01", "2026-11-20", "day", "NOWHERE"), "unknown_shop"),
    ],
)
def test_bad_input_is_refused_with_a_code_never_a_figure(
    shop: Shop, args: tuple[str, ...], code: str
) -> None:
    with pytest.raises(ReportError) as caught:
        kpis(shop.ho, at("2026-11-20T12:00:00"), *args)
    assert caught.value.code == code


def test_an_empty_chain_reports_zeros_and_no_rates(shop: Shop) -> None:
    doc = kpis(shop.ho, at("2026-11-20T12:00:00"), "2026-11-01", "2026-11-20", "day")
    assert len(doc["buckets"]) == 20
    assert all(b["points_issued"] == 0 and b["member_aov_minor"] is None for b in doc["buckets"])
    whole = doc["period"]
    assert whole["redemption_rate"] == rate(0, 0)
    assert whole["repeat_purchase_rate"]["basis_points"] is None
    assert whole["member_aov_minor"] is None
    assert doc["cohorts"] == [] and doc["tills"] == []
    assert doc["outstanding"]["points"]["available"] == 0


def test_a_fast_clock_and_a_forged_entry_change_no_figure_they_should_not(
    shop: Shop, tmp_path: Path
) -> None:
    """A till whose clock runs a day ahead cannot put a sale into tomorrow's figures (it
    counts when head office received it); an entry forged into a till's SQLite is held, not
    counted, and shows in that till's sync health."""
    clock, who = worked_example(shop)
    clients = {c.till.terminal_id: c for c in shop.opened if isinstance(c, SyncClient)}
    warsaw = clients["WAW1"]
    buy(warsaw.till, who["bob"], 5000, now=at("2026-11-21T12:00:00"))  # its clock: tomorrow
    warsaw.sync()
    forged = _forge(tmp_path / "ATH1" / "till.sqlite", who["ann"], 5000)
    clients["ATH1"].sync()
    with shop.ho.store.transaction() as tx:
        assert tx.one("SELECT 1 FROM held_entries WHERE entry_id = ?", (forged,)) is not None
    doc = kpis(shop.ho, clock.at, "2026-11-20", "2026-11-20", "day")
    (today,) = doc["buckets"]
    assert (today["points_issued"], today["purchases"]) == (50, 1)  # no second welcome
    assert today["member_spend_minor"] == 5000
    tills = {t["terminal_id"]: t for t in doc["tills"]}
    assert tills["ATH1"]["held_undecided"] == 1 and tills["ATH1"]["open_alerts"] >= 1
    assert tills["WAW1"]["held_undecided"] == 0
    whole = kpis(shop.ho, clock.at, "2026-11-01", "2026-11-20", "week")["period"]
    assert whole["points_issued"] == 1105 + 50


def _forge(db: Path, member_id: str, points: int) -> str:
    """A bonus the till's code never writes, appended with a correct hash chain (as in
    test_sync_poison): someone with the till's file and a text editor."""
    with sqlite3.connect(db) as conn:
        seq, prev, terminal_id = conn.execute(
            "SELECT seq, hash, terminal_id FROM ledger ORDER BY seq DESC"
        ).fetchone()
        entry_id = new_entry_id()
        fields = (
            entry_id, terminal_id, seq + 1, member_id, "bonus", points, 0, "EUR", None, None,
            None, "2026.11.1", "2026-11-20T11:00:00.000000Z", 1, "cashier1", "bonus:forged",
        )  # fmt: skip
        conn.execute(
            "INSERT INTO ledger (entry_id, terminal_id, seq, member_id, kind, points, "
            "amount_minor, currency, receipt_no, reverses, reward_id, program_version, "
            "occurred_at, offline, cashier_id, reason, prev_hash, hash, acked_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (*fields, prev, entry_hash(prev, fields)),
        )
    return entry_id
