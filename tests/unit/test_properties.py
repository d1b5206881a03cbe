"""Properties of the ledger under random sequences of sales, refunds and adjustments, on a real
SQLite file: balance = sum of entries, gap-free seq, the offline policy's limits hold, refunds
never reverse more than was earned, rounding never makes points from nothing."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty import ledger, refunds, sales
from loyalty.db import to_text
from loyalty.errors import LoyaltyError
from loyalty.members import MemberSnapshot
from loyalty.program import load_program
from loyalty.rules import BasketLine, points_for
from loyalty.sales import SaleRequest
from loyalty.till import Till

PROGRAM_PATH = Path(__file__).resolve().parents[2] / "fixtures" / "program.toml"
PROGRAM = load_program(str(PROGRAM_PATH))
START = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
MEMBERS = {"M1": 800, "M2": 3000, "M3": 0}
CATEGORIES = ["fresh", "deli", "tobacco", "gift_card", "cafe"]

line = st.builds(
    BasketLine,
    st.sampled_from(["A", "B", "CAFE-001"]),
    st.sampled_from(CATEGORIES),
    st.integers(min_value=0, max_value=40000),
)
sale_op = st.tuples(
    st.just("sale"),
    st.sampled_from(list(MEMBERS)),
    st.lists(line, min_size=1, max_size=4),
    st.sampled_from([None, "coffee", "five-off", "food-bank", "ten-percent"]),
    st.sampled_from([0, 0, 500, 700, 1200]),
)
refund_op = st.tuples(st.just("refund"), st.integers(0, 20), st.integers(0, 30000))
adjust_op = st.tuples(st.just("adjust"), st.sampled_from(list(MEMBERS)), st.integers(-300, 300))
ops = st.lists(st.one_of(sale_op, refund_op, adjust_op), min_size=1, max_size=14)


def _till(folder: str) -> Till:
    till = Till.open(folder, must_exist=False)
    till.initialise("T1", PROGRAM_PATH.read_text(encoding="utf-8"), "p", START)
    snaps = [
        MemberSnapshot(m, to_text(START), balance=b, has_purchased=True) for m, b in MEMBERS.items()
    ]
    till.apply_snapshots(snaps, START)
    return till


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_ledger_invariants_hold_for_any_sequence_of_operations(operations: list[tuple]) -> None:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as folder:
        till = _till(folder)
        receipts: list[str] = []
        now = START
        try:
            for op in operations:
                now += dt.timedelta(minutes=7)
                try:
                    if op[0] == "sale":
                        _, member, lines, reward, pay = op
                        r = sales.sale(
                            till, SaleRequest(member, "c1", tuple(lines), reward, pay), now
                        )
                        receipts.append(r.receipt_no)
                    elif op[0] == "refund" and receipts:
                        no = receipts[op[1] % len(receipts)]
                        record = till.sale_record(no)
                        sku, cat, amount = record["lines"][0]  # type: ignore[index]
                        part = [BasketLine(sku, cat, min(op[2], amount))] if op[2] % 3 else None
                        refunds.refund(till, no, "c1", part, now)
                    elif op[0] == "adjust":
                        till.adjust(op[1], op[2] or 1, "property test", "c1", now)
                except LoyaltyError:
                    pass  # a refusal must write nothing: checked by the invariants below
            _check(till, now)
        finally:
            till.close()


def _check(till: Till, now: dt.datetime) -> None:
    conn = till.db.conn
    later = now + dt.timedelta(days=30)  # every pending point released
    for member, start_balance in MEMBERS.items():
        total = conn.execute(
            "SELECT COALESCE(SUM(points), 0) FROM ledger WHERE member_id = ?", (member,)
        ).fetchone()[0]
        b = till.balance(member, now)
        assert b.available + b.pending == start_balance + total
        assert till.balance(member, later).available == start_balance + total
        # Offline redemptions never exceeded the member's allowance (no override was used).
        assert ledger.offline_redeemed(conn, member) <= PROGRAM.offline.member_allowance_points
    assert ledger.offline_redeemed(conn) <= PROGRAM.offline.terminal_budget_points
    seqs = [r[0] for r in conn.execute("SELECT seq FROM ledger ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    assert ledger.verify_chain(conn, "T1") is None
    # No refund ever reversed more than its sale's entry earned or took, in points or in the
    # qualifying spend it carries; a reversal may carry spend alone (a small partial refund
    # whose points round to nothing still takes back its spend), never points of the same sign.
    for entry_id, points, amount, reversed_, spend_back in conn.execute(
        "SELECT e.entry_id, e.points, e.amount_minor, COALESCE(SUM(r.points), 0), "
        "COALESCE(SUM(r.amount_minor), 0) FROM ledger e "
        "JOIN ledger r ON r.reverses = e.entry_id GROUP BY e.entry_id"
    ):
        assert abs(reversed_) <= abs(points), entry_id
        assert reversed_ == 0 or (points > 0) == (reversed_ < 0), entry_id
        if points > 0:
            assert -amount <= spend_back <= 0, entry_id
    # Receipt numbers are gap-free too.
    numbers = sorted(
        int(r[0].rsplit("-", 1)[1]) for r in conn.execute("SELECT receipt_no FROM sales")
    )
    assert numbers == list(range(1, len(numbers) + 1))


@given(st.integers(min_value=0, max_value=10**12))
def test_rounding_never_makes_points_from_nothing(spend: int) -> None:
    exact_times_per = spend * PROGRAM.earn.points
    down = points_for(PROGRAM, spend)
    assert down * PROGRAM.earn.per_minor <= exact_times_per
    assert (down + 1) * PROGRAM.earn.per_minor > exact_times_per
    assert points_for(PROGRAM, 0) == 0
