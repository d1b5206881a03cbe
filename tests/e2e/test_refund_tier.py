"""Refunds take back the qualifying spend they undo: buy for a tier, return everything, and the
tier goes (at the till at once, at head office when the refund arrives, at every other till
after its pull). Two real tills and a real head office, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from loyalty.refunds import refund
from loyalty.rules import BasketLine
from sync.headoffice.accounts import StoredEntry, compute, fold, load_state, summarize
from tests.sync_fixtures import PROGRAM, Shop, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]


def test_a_full_refund_of_a_600_euro_sale_takes_the_tier_back(shop: Shop) -> None:
    shop.member("ANN")
    athens, c_athens = shop.till("ATH1")
    warsaw, c_warsaw = shop.till("WAW1")
    sale = buy(athens, "ANN", 60000)  # EUR 600: past Oak's EUR 500
    assert athens.balance("ANN").provisional_tier_id == "oak"
    c_athens.sync()
    c_warsaw.sync()
    hq = shop.ho.member("ANN")
    assert (hq.tier_id, hq.tier_progress) == ("oak", 60000)
    assert warsaw.balance("ANN").tier_id == "oak"

    # Half comes back: EUR 300 of progress goes, the tier with it (below EUR 500).
    lines = [BasketLine("SKU-1", "grocery", 30000)]
    refund(athens, sale.receipt_no, "cashier1", lines)
    local = athens.balance("ANN")
    assert (local.tier_progress, local.provisional_tier_id) == (30000, "olive")
    # The rest: nothing of the sale counts any more.
    refund(athens, sale.receipt_no, "cashier1")
    assert athens.balance("ANN").tier_progress == 0
    c_athens.sync()
    hq = shop.ho.member("ANN")
    assert (hq.tier_id, hq.tier_progress) == ("olive", 0)
    c_warsaw.sync()
    for till in (athens, warsaw):
        b = till.balance("ANN")
        assert (b.tier_id, b.provisional_tier_id, b.tier_progress) == ("olive", "olive", 0)
        assert (b.available, b.pending) == (hq.balance, sum(p for p, _ in hq.pending))


def test_a_program_may_keep_the_spend_a_refund_undoes() -> None:
    keep = PROGRAM.replace('qualifying = "reverse"', 'qualifying = "keep"')
    assert keep != PROGRAM
    from loyalty.program import parse_program

    now = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
    stamp = "2026-11-20T10:00:00.000000Z"
    entries = [
        StoredEntry("e1", "earn", 600, 60000, None, "base", stamp, stamp),
        StoredEntry("r1", "reverse", -600, -60000, "e1", "refund:base", stamp, stamp),
    ]
    for text, progress, tier in ((PROGRAM, 0, "olive"), (keep, 60000, "oak")):
        program = parse_program(text)
        whole = compute(program, entries, now)
        state = load_state(None)
        fold(program, state, entries[:1])
        fold(program, state, entries[1:])
        folded = summarize(program, state, now)
        assert (whole.tier_progress, whole.tier_id) == (progress, tier)
        assert (folded.tier_progress, folded.tier_id) == (progress, tier)


def test_a_refund_never_takes_back_more_spend_than_its_sale_counted() -> None:
    from loyalty.program import parse_program

    program = parse_program(PROGRAM)
    now = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
    stamp = "2026-11-20T10:00:00.000000Z"
    entries = [
        StoredEntry("e0", "earn", 900, 90000, None, "base", stamp, stamp),
        StoredEntry("e1", "earn", 100, 10000, None, "base", stamp, stamp),
        # A dishonest till's reversal claims EUR 1,000 back from a EUR 100 sale.
        StoredEntry("r1", "reverse", -100, -100000, "e1", "refund:base", stamp, stamp),
    ]
    state = load_state(None)
    fold(program, state, entries)
    assert compute(program, entries, now).tier_progress == 90000
    assert summarize(program, state, now).tier_progress == 90000
