"""A refund by receipt number, whole or some lines: the points the refunded spend earned are
reversed in proportion, cumulatively, so refunds never reverse more than the sale earned.

A whole refund also gives back the points a reward or points payment took (not a donation: that
money went to the charity). When the earned points were already spent, the program decides:
``allow_negative`` reverses them all (the balance goes below zero and future earnings offset
it); ``cap_at_available`` reverses only what is there and reports the shortfall.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from loyalty import ledger, members, pos_sales
from loyalty.balance import Balance, compute
from loyalty.db import to_text
from loyalty.errors import BadInput, NotFound, Refused
from loyalty.ledger import Entry, NewEntry
from loyalty.pos_sales import PosRef
from loyalty.rules import BasketLine, reversal
from loyalty.sales import next_receipt_no, store_figures
from loyalty.till import Till, _aware, check_cashier


@dataclass(frozen=True, slots=True)
class RefundResult:
    receipt_no: str
    refund_of: str
    occurred_at: dt.datetime
    amount_minor: int
    whole: bool  # this refund completes a whole refund of the sale
    entries: tuple[Entry, ...]
    points_reversed: int  # earned points taken back (positive number)
    points_returned: int  # redeemed points given back
    shortfall: int  # points that could not be taken back (cap_at_available)
    before: Balance
    after: Balance


@dataclass(frozen=True, slots=True)
class RefundableLine:
    sku: str
    category: str
    bought_minor: int
    left_minor: int  # not refunded yet


@dataclass(frozen=True, slots=True)
class Refundable:
    """A sale as a refund starts from it: its lines (one per product code) and what is left."""

    receipt_no: str
    member_id: str
    occurred_at: str
    currency: str
    lines: tuple[RefundableLine, ...]

    @property
    def left_minor(self) -> int:
        return sum(line.left_minor for line in self.lines)


def refundable(till: Till, receipt_no: str) -> Refundable:
    """The sale's lines and what each has left to refund (NotFound, or Refused for a refund)."""
    with till.db.read() as conn:
        sale, bought, done, category = _amounts(conn, till, receipt_no)
    lines = tuple(
        RefundableLine(sku, category[sku], bought[sku], bought[sku] - done[sku]) for sku in bought
    )
    return Refundable(receipt_no, sale["member_id"], sale["occurred_at"], sale["currency"], lines)


def _amounts(
    conn: sqlite3.Connection, till: Till, receipt_no: str
) -> tuple[sqlite3.Row, dict[str, int], dict[str, int], dict[str, str]]:
    """The sale's row, and per product code what was bought, what earlier refunds took back
    and its category (NotFound for an unknown receipt, Refused for a refund's)."""
    sale = conn.execute(
        "SELECT * FROM sales WHERE receipt_no = ? AND terminal_id = ?",
        (receipt_no, till.terminal_id),
    ).fetchone()
    if sale is None:
        raise NotFound("unknown_receipt", receipt=receipt_no[:40])
    if sale["kind"] != "sale":
        raise Refused("cannot_refund_a_refund", receipt=receipt_no)
    done: dict[str, int] = defaultdict(int)
    for row in conn.execute("SELECT lines_json FROM sales WHERE refund_of = ?", (receipt_no,)):
        for sku, _category, amount in json.loads(row[0]):
            done[sku] += amount
    bought: dict[str, int] = defaultdict(int)
    category: dict[str, str] = {}
    for sku, cat, amount in json.loads(sale["lines_json"]):
        bought[sku] += amount
        category[sku] = cat
    return sale, bought, done, category


class _Preview(Exception):  # noqa: N818 - not an error: carries a preview out of its rollback
    def __init__(self, result: RefundResult) -> None:
        self.result = result


def preview(
    till: Till,
    receipt_no: str,
    cashier_id: str,
    lines: Sequence[BasketLine] | None = None,
    now: dt.datetime | None = None,
) -> RefundResult:
    """What the refund would do (money, points reversed and returned, the balance after),
    computed by the refund itself in a transaction that is rolled back: nothing is written."""
    try:
        refund(till, receipt_no, cashier_id, lines, now, _preview=True)
    except _Preview as done:
        return done.result
    raise AssertionError("a refund preview always rolls back")  # pragma: no cover


def refund(
    till: Till,
    receipt_no: str,
    cashier_id: str,
    lines: Sequence[BasketLine] | None = None,
    now: dt.datetime | None = None,
    _preview: bool = False,
    pos: PosRef | None = None,
) -> RefundResult:
    now = _aware(now)
    check_cashier(cashier_id)
    program = till.program
    stamp = to_text(now)
    with till.db.write() as conn:
        if pos is not None:
            pos_sales.check_new(conn, "refund", pos)
        sale, bought, done, category = _amounts(conn, till, receipt_no)
        if lines is None:
            lines = [
                BasketLine(sku, category[sku], bought[sku] - done[sku])
                for sku in bought
                if bought[sku] > done[sku]
            ]
            if not lines:
                raise Refused("already_refunded", receipt=receipt_no)
        wanted: dict[str, int] = defaultdict(int)
        for line in lines:
            if line.sku not in bought:
                raise BadInput("line_not_on_receipt", sku=line.sku, receipt=receipt_no)
            wanted[line.sku] += line.amount_minor
        for sku, amount in wanted.items():
            if amount <= 0 or done[sku] + amount > bought[sku]:
                raise Refused("refund_exceeds_sale", sku=sku, currency=program.currency,
                              remaining_minor=bought[sku] - done[sku])  # fmt: skip
        lines = [BasketLine(sku, category[sku], amount) for sku, amount in wanted.items()]
        excluded = program.earn.excluded_categories
        eligible = {sku for sku in bought if category[sku] not in excluded}
        basis = sum(bought[sku] for sku in eligible)
        refunded_cum = sum(done[sku] + wanted[sku] for sku in eligible)
        whole = all(done[sku] + wanted[sku] == bought[sku] for sku in bought)

        member_id = sale["member_id"]
        member = members.get(conn, member_id)
        if member is None:
            raise NotFound("unknown_member", member=member_id)
        member_id = member.member_id  # merged since the sale: the member kept
        before = compute(program, member, ledger.unacked_for_member(conn, member_id), now)
        sale_entries = ledger.for_receipts(conn, [receipt_no])
        already = ledger.reversed_points(conn, [e.entry_id for e in sale_entries])
        spent = ledger.reversed_amounts(conn, [e.entry_id for e in sale_entries])
        new_no = next_receipt_no(conn, till)
        new: list[NewEntry] = []
        for e in sale_entries:
            if e.kind in ("earn", "bonus"):
                points = reversal(e.points, already.get(e.entry_id, 0), refunded_cum, basis)
                # The base line's amount is the sale's qualifying spend: the refunded part of
                # it goes back with the points (the tier counts it, per the program).
                spend = 0
                if e.kind == "earn" and e.reason == "base":
                    spend = reversal(e.amount_minor, spent.get(e.entry_id, 0), refunded_cum, basis)
                if points or spend:
                    new.append(NewEntry(member_id, "reverse", -points, -spend, new_no, e.entry_id,
                                        reason=f"refund:{e.reason}"))  # fmt: skip
        reversed_total = -sum(n.points for n in new)
        shortfall = 0
        if program.refund_when_spent == "cap_at_available":
            shortfall = max(0, reversed_total - max(before.available, 0))
            new = _cap(new, shortfall)
        returned = 0
        if whole:
            for e in sale_entries:
                if e.kind == "redeem" and e.entry_id not in already:
                    returned += -e.points
                    new.append(NewEntry(member_id, "reverse", -e.points, 0, new_no, e.entry_id,
                                        e.reward_id, reason="refund:return_redeemed"))  # fmt: skip
        amount = sum(line.amount_minor for line in lines)
        conn.execute(
            "INSERT INTO sales (receipt_no, kind, terminal_id, member_id, cashier_id, occurred_at, "
            "currency, total_minor, discount_minor, donation_minor, payment_points, "
            "payment_minor, paid_minor, eligible_minor, lines_json, reward_id, refund_of, "
            "program_version, mode, hold_id, override_json) "
            "VALUES (?, 'refund', ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?, ?, ?, NULL, ?, ?, 'none', "
            "NULL, NULL)",
            (
                new_no,
                till.terminal_id,
                member_id,
                cashier_id,
                stamp,
                program.currency,
                amount,
                amount,
                sum(wanted[s] for s in wanted if s in eligible),
                json.dumps([[x.sku, x.category, x.amount_minor] for x in lines]),
                receipt_no,
                program.version,
            ),  # fmt: skip
        )
        entries = ledger.append(
            conn, till.terminal_id, new, currency=program.currency,
            program_version=program.version, occurred_at=stamp, offline=True,
            cashier_id=cashier_id,
        )  # fmt: skip
        after = compute(program, member, ledger.unacked_for_member(conn, member_id), now)
        store_figures(conn, new_no, before, after)
        if pos is not None:
            pos_sales.record(conn, "refund", pos, new_no, stamp)
        result = RefundResult(
            new_no, receipt_no, now, amount, whole, tuple(entries),
            reversed_total - shortfall, returned, shortfall, before, after,
        )  # fmt: skip
        if _preview:
            raise _Preview(result)  # leaves the write transaction: rolled back
    return result


def _cap(new: list[NewEntry], shortfall: int) -> list[NewEntry]:
    """Take ``shortfall`` points off the reversals, last first."""
    out: list[NewEntry] = []
    for n in reversed(new):
        cut = min(shortfall, -n.points)
        shortfall -= cut
        if n.points + cut or n.amount_minor:
            out.append(NewEntry(n.member_id, n.kind, n.points + cut, n.amount_minor,
                                n.receipt_no, n.reverses, n.reward_id, n.reason))  # fmt: skip
    return list(reversed(out))
