"""Sales, refunds, adjustments and acknowledgements against a real SQLite file."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from loyalty import ledger, outbox, refunds, sales
from loyalty.db import set_meta, to_text
from loyalty.errors import BadInput, NotFound, Refused
from loyalty.members import MemberSnapshot
from loyalty.policy import Authorisation, Override
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest
from loyalty.till import Till


def sell(till: Till, now: dt.datetime, member: str = "M000001", **kw: object) -> sales.SaleResult:
    lines = kw.pop("lines", (BasketLine("OIL", "pantry", 2000),))
    return sales.sale(till, SaleRequest(member, "anna", lines, **kw), now)  # type: ignore[arg-type]


def test_a_sale_commits_its_entries_receipt_number_and_balance(
    till: Till, now: dt.datetime
) -> None:
    r = sell(till, now, reward_id="five-off")
    assert r.receipt_no == "ATH01-T1-000001"
    assert [(e.seq, e.kind, e.points) for e in r.entries] == [(1, "redeem", -500), (2, "earn", 15)]
    assert (r.before.available, r.after.available, r.after.pending) == (1200, 700, 15)
    assert till.balance("M000001", now).available == 700
    assert till.sale_record(r.receipt_no)["paid_minor"] == 1500


def test_seq_is_gap_free_and_the_hash_chain_holds(till: Till, now: dt.datetime) -> None:
    for _ in range(5):
        sell(till, now)
    with pytest.raises(Refused):
        sell(till, now, reward_id="twenty-off")  # refused sales take no seq
    sell(till, now)
    seqs = [r[0] for r in till.db.conn.execute("SELECT seq FROM ledger ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    assert ledger.verify_chain(till.db.conn, "ATH01-T1") is None


def test_the_ledger_refuses_edits_and_deletions(till: Till, now: dt.datetime) -> None:
    sell(till, now)
    conn = till.db.conn
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE ledger SET points = 1000 WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM ledger")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE sales SET total_minor = 1")
    conn.execute("UPDATE ledger SET acked_at = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="once"):
        conn.execute("UPDATE ledger SET acked_at = 'y' WHERE seq = 1")


@pytest.mark.parametrize(
    ("table", "row"),
    [
        ("lockout_resets", ("2026-01-01T00:00:00Z", "anna", "mgr", "forgot")),
        ("spent_app_codes", (b"code", "M000001", "R1", "2026-01-01T00:00:00Z", "2026-01-01")),
        ("pos_sales", ("sale", "POS-1", "f", "R1", "2026-01-01T00:00:00Z")),
    ],
)
def test_every_append_only_side_table_refuses_edits_and_deletions(
    till: Till, now: dt.datetime, table: str, row: tuple[object, ...]
) -> None:
    conn = till.db.conn
    conn.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)
    column = conn.execute(f"SELECT name FROM pragma_table_info('{table}')").fetchone()[0]
    with pytest.raises(sqlite3.IntegrityError, match=f"{table} is append-only"):
        conn.execute(f"UPDATE {table} SET {column} = {column}")
    with pytest.raises(sqlite3.IntegrityError, match=f"{table} is append-only"):
        conn.execute(f"DELETE FROM {table}")
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 1


def test_a_sales_printed_figures_are_kept_as_printed(till: Till, now: dt.datetime) -> None:
    sell(till, now)
    conn = till.db.conn
    with pytest.raises(sqlite3.IntegrityError, match="sale_figures is append-only"):
        conn.execute("UPDATE sale_figures SET figures_json = '{}'")
    with pytest.raises(sqlite3.IntegrityError, match="sale_figures is append-only"):
        conn.execute("DELETE FROM sale_figures")


def test_tampering_behind_the_triggers_back_shows_in_the_chain(
    till: Till, now: dt.datetime
) -> None:
    for _ in range(3):
        sell(till, now)
    conn = till.db.conn
    conn.execute("DROP TRIGGER ledger_no_update")
    conn.execute("UPDATE ledger SET points = 999 WHERE seq = 2")
    assert ledger.verify_chain(conn, "ATH01-T1") == 2


def test_blocked_and_unknown_members(till: Till, now: dt.datetime) -> None:
    till.apply_snapshots([MemberSnapshot("M000001", to_text(now), status="blocked")], now)
    with pytest.raises(Refused) as info:
        sell(till, now)
    assert info.value.code == "member_blocked"
    with pytest.raises(NotFound):
        sell(till, now, member="M999999")
    assert till.outbox_size() == 0


def test_offline_allowance_resets_only_when_head_office_acknowledges(
    till: Till, now: dt.datetime
) -> None:
    lines = (BasketLine("HAM", "deli", 10000),)
    sell(till, now, member="M000002", lines=lines, reward_id="five-off")  # 500 offline
    with pytest.raises(Refused) as info:
        sell(till, now, member="M000002", lines=lines, payment_points=600)
    assert info.value.code == "member_offline_allowance_reached"
    assert info.value.next_steps == ("online_authorisation", "manager_override")
    # An online hold, or a manager with a reason, lets it through.
    hold = Authorisation("H-1", "M000002", 600)
    assert (
        sell(till, now, member="M000002", lines=lines, payment_points=600, authorisation=hold).mode
        == "online"
    )
    over = sell(
        till,
        now,
        member="M000002",
        lines=lines,
        payment_points=600,
        override=Override("mgr", "network down"),
    )
    assert over.mode == "override"
    # Head office acknowledges everything: the offline counters are back to zero.
    entries = outbox.pending_entries(till, 100)
    snap = MemberSnapshot("M000002", to_text(now), balance=3300, tier_id="oak", has_purchased=True)
    seqs = [e.seq for e in entries]
    assert outbox.acknowledge(till, seqs, [snap], now=now) == len(entries)
    assert outbox.acknowledge(till, seqs, [snap], now=now) == 0  # a replayed answer
    assert sell(till, now, member="M000002", lines=lines, payment_points=600).mode == "offline"


def test_a_stale_member_snapshot_blocks_offline_redemption_but_not_earning(
    till: Till, now: dt.datetime
) -> None:
    later = now + dt.timedelta(days=4)
    with pytest.raises(Refused) as info:
        sell(till, later, reward_id="five-off")
    assert info.value.code == "snapshot_too_old"
    assert sell(till, later).points_earned == 20


def test_pending_points_are_released_after_the_return_window(till: Till, now: dt.datetime) -> None:
    sell(till, now)
    assert till.balance("M000001", now).pending == 20
    later = till.balance("M000001", now + dt.timedelta(days=14, seconds=1))
    assert (later.available, later.pending) == (1220, 0)


def test_partial_then_whole_refund(till: Till, now: dt.datetime) -> None:
    lines = (BasketLine("TOM", "fresh", 2500), BasketLine("CIG", "tobacco", 700))
    sale = sell(till, now, lines=lines, reward_id="five-off")
    assert sale.points_earned == 21 + 50  # EUR 25 of EUR 32 paid 27 -> 21 base, fresh bonus
    part = refunds.refund(till, sale.receipt_no, "anna", [BasketLine("TOM", "fresh", 1000)], now)
    assert (part.points_reversed, part.points_returned, part.whole) == (28, 0, False)
    with pytest.raises(Refused) as info:
        refunds.refund(till, sale.receipt_no, "anna", [BasketLine("TOM", "fresh", 1600)], now)
    assert info.value.code == "refund_exceeds_sale"
    rest = refunds.refund(till, sale.receipt_no, "anna", None, now)
    assert rest.whole and rest.points_reversed == 71 - 28 and rest.points_returned == 500
    assert till.balance("M000001", now).available == 1200
    with pytest.raises(Refused):
        refunds.refund(till, sale.receipt_no, "anna", None, now)
    with pytest.raises(BadInput):
        refunds.refund(till, sale.receipt_no, "anna", [BasketLine("NOPE", "x", 1)], now)


def test_refund_of_spent_points_follows_the_program(till: Till, now: dt.datetime) -> None:
    sale = sell(till, now, lines=(BasketLine("HAM", "deli", 50000),))
    later = now + dt.timedelta(days=15)
    sell(
        till,
        later,
        payment_points=1700,
        lines=(BasketLine("X", "deli", 5000),),
        override=Override("mgr", "snapshot old, shopper known"),
    )
    r = refunds.refund(till, sale.receipt_no, "anna", None, later)
    assert r.points_reversed == 500 and r.after.available < 0  # allow_negative: offset later


def test_adjustment_needs_a_reason_and_cannot_overdraw(till: Till, now: dt.datetime) -> None:
    with pytest.raises(BadInput):
        till.adjust("M000001", 50, " ", "anna", now)
    with pytest.raises(Refused):
        till.adjust("M000001", -5000, "typo", "anna", now)
    entry = till.adjust("M000001", 50, "goodwill: broken jar", "anna", now)
    assert (entry.kind, entry.points, entry.cashier_id) == ("adjust", 50, "anna")
    assert till.balance("M000001", now).available == 1250


def test_enrol_then_find_by_card_and_phone(till: Till, now: dt.datetime) -> None:
    with pytest.raises(Refused):
        till.enroll("Ana", "anna", consent=False, now=now)
    e = till.enroll("Ana Popescu", "anna", True, "ro", "+40 721 000 111", "02-29", now)
    assert e.card_number.startswith("2") and len(e.card_number) == 12
    assert till.find_member(e.card_number).member_id == e.member.member_id
    assert till.find_member("0040721000111 ").member_id == e.member.member_id  # 00 = +
    assert till.find_member("+40 721 000 111").member_id == e.member.member_id
    with pytest.raises(Refused):
        till.enroll("Someone Else", "anna", True, phone="+40721000111", now=now)
    assert [x.member_id for x in outbox.pending_enrolments(till)] == [e.member.member_id]
    first = sell(till, now, member=e.member.member_id)
    assert {line.reason for line in first.earned} >= {"base", "promo:welcome"}
    second = sell(till, now, member=e.member.member_id)
    assert "promo:welcome" not in {line.reason for line in second.earned}


@pytest.mark.parametrize("days", [-4, 4])
def test_a_snapshot_is_aged_on_head_office_clock_not_the_till_own(
    till: Till, now: dt.datetime, days: int
) -> None:
    """A till whose clock is wrong by days, as its last sync measured: the snapshot head office
    sent an hour ago is an hour old, whichever way the till's clock is off."""
    wrong = now + dt.timedelta(days=days)
    with till.db.write() as conn:
        set_meta(conn, "clock_drift_ms", str(days * 86_400_000))
    assert sell(till, wrong, reward_id="five-off").mode == "offline"
    # And a snapshot that is really 4 days old is too old, even to a till 4 days behind.
    stale = now + dt.timedelta(days=4)
    with pytest.raises(Refused) as info:
        sell(till, stale + dt.timedelta(days=days), reward_id="five-off")
    assert info.value.code == "snapshot_too_old"


def test_a_snapshot_is_as_fresh_as_the_till_last_complete_pull(
    till: Till, now: dt.datetime
) -> None:
    """The member has not changed for four days, but the till pulled every change a minute ago:
    head office's word on the member is a minute old, and offline redemption is allowed."""
    later = now + dt.timedelta(days=4)
    with pytest.raises(Refused) as info:
        sell(till, later, reward_id="five-off")
    assert info.value.code == "snapshot_too_old"
    # A page that is not the last one covers only its own members: still too old.
    half = outbox.ChangePage("c1", server_time=later - dt.timedelta(minutes=1), complete=False)
    outbox.apply_page(till, half, later - dt.timedelta(minutes=1))
    with pytest.raises(Refused):
        sell(till, later, reward_id="five-off")
    done = outbox.ChangePage("c2", server_time=later - dt.timedelta(minutes=1), complete=True)
    outbox.apply_page(till, done, later - dt.timedelta(minutes=1))
    assert till.balance("M000001", later).as_of == later - dt.timedelta(minutes=1)
    assert sell(till, later, reward_id="five-off").mode == "offline"
    got = till.balance("M000001", later)
    assert (got.available, got.pending) == (700, 15)
    # Three days on without a sync, the snapshot is too old again.
    with pytest.raises(Refused) as info:
        sell(till, later + dt.timedelta(days=3), reward_id="five-off")
    assert info.value.code == "snapshot_too_old"


def test_a_merge_counts_whatever_the_age_of_the_snapshot_that_brings_it(
    till: Till, now: dt.datetime
) -> None:
    """Head office merged M000002 (a duplicate enrolment) into M000001. The snapshot that says
    so is older than the till's row of M000002, and still brings the merge."""
    older = MemberSnapshot("M000002", to_text(now - dt.timedelta(days=1)), merged_into="M000001")
    till.apply_snapshots([older], now)
    assert till.member("M000002").member_id == "M000001"
    assert till.find_member("400000000010").member_id == "M000001"
    # A later snapshot that does not mention the merge (a push answer) keeps it.
    till.apply_snapshots([MemberSnapshot("M000002", to_text(now), balance=0)], now)
    assert till.balance("M000002", now).member_id == "M000001"
