"""What a refund starts from and what it would do, before it is done: the receipt's lines with
what each has left, and a preview that is the refund itself rolled back (same numbers, nothing
written, the receipt counter untouched)."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty import refunds, sales
from loyalty.errors import NotFound, Refused
from loyalty.refunds import RefundableLine
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest
from loyalty.till import Till


def test_a_preview_is_the_refund_without_writing_it(till: Till, now: dt.datetime) -> None:
    lines = (BasketLine("TOM", "fresh", 2500), BasketLine("CIG", "tobacco", 700))
    sale = sales.sale(till, SaleRequest("M000001", "anna", lines, reward_id="five-off"), now)
    assert refunds.refundable(till, sale.receipt_no).lines == (
        RefundableLine("TOM", "fresh", 2500, 2500),
        RefundableLine("CIG", "tobacco", 700, 700),
    )
    part = [BasketLine("TOM", "-", 1000)]
    outbox_before = till.outbox_size()
    balance_before = till.balance("M000001", now)
    seen = refunds.preview(till, sale.receipt_no, "anna", part, now)
    assert till.outbox_size() == outbox_before
    assert till.balance("M000001", now) == balance_before
    assert refunds.refundable(till, sale.receipt_no).left_minor == 3200
    done = refunds.refund(till, sale.receipt_no, "anna", part, now)
    assert (seen.receipt_no, seen.amount_minor, seen.points_reversed, seen.after) == (
        done.receipt_no, done.amount_minor, done.points_reversed, done.after,
    )  # fmt: skip
    assert [line.left_minor for line in refunds.refundable(till, sale.receipt_no).lines] == [
        1500,
        700,
    ]
    whole = refunds.preview(till, sale.receipt_no, "anna", None, now)
    assert whole.whole and whole.points_returned == 500  # the reward's points come back


def test_what_cannot_be_refunded_is_refused_before_any_picking(
    till: Till, now: dt.datetime
) -> None:
    with pytest.raises(NotFound):
        refunds.refundable(till, "ATH01-T1-999999")
    sale = sales.sale(
        till, SaleRequest("M000001", "anna", (BasketLine("OIL", "pantry", 2000),)), now
    )
    refund = refunds.refund(till, sale.receipt_no, "anna", None, now)
    with pytest.raises(Refused) as info:
        refunds.refundable(till, refund.receipt_no)
    assert info.value.code == "cannot_refund_a_refund"
    assert refunds.refundable(till, sale.receipt_no).left_minor == 0
