"""Receipts tell the truth: the figures a sale's receipt printed are stored with the sale, so a
reprint shows them again (marked a copy when printed again); the expiring points never exceed
the balance; "as of last sync" is this till's last sync; every reward line names its reward."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from loyalty import outbox, sales
from loyalty.db import to_text
from loyalty.members import MemberSnapshot
from loyalty.policy import Override
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest
from loyalty.till import Till
from printer import Line, Row
from terminal.i18n import translator
from terminal.receipts import Shop, from_sale, from_store

SHOP = Shop("Olive & Oak")
BOOKED = Override("maria", "tasting booked by phone")  # beyond the offline allowance


def rows(receipt: object) -> dict[str, str]:
    return {b.label: b.value for b in receipt.blocks if isinstance(b, Row)}  # type: ignore[attr-defined]


def lines(receipt: object) -> list[str]:
    return [b.text for b in receipt.blocks if isinstance(b, Line)]  # type: ignore[attr-defined]


def sell(till: Till, now: dt.datetime, member: str, **kw: object) -> sales.SaleResult:
    lines_ = kw.pop("lines", (BasketLine("OIL", "pantry", 2000),))
    return sales.sale(till, SaleRequest(member, "anna", lines_, **kw), now)  # type: ignore[arg-type]


def test_a_receipt_rebuilt_later_shows_the_figures_of_the_sale(
    till: Till, now: dt.datetime
) -> None:
    first = sell(till, now, "M000002", reward_id="five-off")
    printed = from_sale(first, "anna", till, SHOP)
    # Days later the member has spent more, and head office has changed the balance.
    later = now + dt.timedelta(days=20)
    sell(till, later, "M000002", lines=(BasketLine("HAM", "deli", 5000),))
    till.apply_snapshots(
        [MemberSnapshot("M000002", to_text(later), card_number="400000000010",
                        display_name="Piotr", language="pl", balance=99, tier_id="oak")],
        later,
    )  # fmt: skip
    rebuilt = from_store(till, first.receipt_no, SHOP, later)
    assert rows(rebuilt) == rows(printed)
    assert lines(rebuilt) == lines(printed)
    pl = translator("pl")
    assert rows(rebuilt)[pl("receipt.new_balance")] == pl.number(first.after.available)
    # The figures are append-only, like the sale.
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        till.db.conn.execute("UPDATE sale_figures SET figures_json = '{}'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        till.db.conn.execute("DELETE FROM sale_figures")


def test_every_reward_line_names_what_was_redeemed(till: Till, now: dt.datetime) -> None:
    till.apply_snapshots(
        [MemberSnapshot("M000020", to_text(now), card_number="400000000200", display_name="Ana",
                        language="en", balance=9000, tier_id="laurel", tier_progress=200000,
                        has_purchased=True)],
        now,
    )  # fmt: skip
    en = translator("en")
    tasting = from_sale(
        sell(till, now, "M000020", reward_id="tasting", override=BOOKED), "anna", till, SHOP
    )
    assert rows(tasting)[en("receipt.redeemed_for", reward="Olive oil tasting evening")] == (
        en.number(-3000)
    )
    gift = from_sale(
        sell(till, now, "M000020", reward_id="food-bank", override=BOOKED), "anna", till, SHOP
    )
    got = rows(gift)
    assert got[en("receipt.donation_to", charity="Athens Food Bank")] == en.money(200, "EUR")
    assert got[en("receipt.redeemed_for", reward="Donate EUR 2 to the food bank")] == (
        en.number(-200)
    )


def test_expiring_points_never_exceed_the_balance_on_the_receipt(
    till: Till, now: dt.datetime
) -> None:
    till.apply_snapshots(
        [MemberSnapshot("M000021", to_text(now), card_number="400000000218", display_name="Jo",
                        language="en", balance=1750, expiring_points=2000,
                        expiring_at=to_text(now + dt.timedelta(days=40)), has_purchased=True)],
        now,
    )  # fmt: skip
    receipt = from_sale(sell(till, now, "M000021", reward_id="five-off"), "anna", till, SHOP)
    en = translator("en")
    expiring = next(v for k, v in rows(receipt).items() if k.startswith("Points expiring"))
    assert expiring == en.number(1250)  # 1,750 less the 500 spent on this sale


def test_as_of_last_sync_is_the_till_last_sync_not_the_member_last_change(
    till: Till, now: dt.datetime
) -> None:
    """Eleni's snapshot is three days old, but the till pulled every change a minute ago."""
    old = now - dt.timedelta(days=3)
    till.apply_snapshots(
        [MemberSnapshot("M000001", to_text(old), card_number="400000000002",
                        display_name="Eleni", language="el", balance=1200, tier_id="olive",
                        has_purchased=True)],
        old,
    )  # fmt: skip
    # (an older snapshot never replaces a newer one: the fixture's is an hour old)
    with till.db.write() as conn:
        conn.execute("UPDATE members SET snapshot_at = ? WHERE member_id = 'M000001'",
                     (to_text(old),))  # fmt: skip
    pulled = now - dt.timedelta(minutes=1)
    outbox.apply_page(till, outbox.ChangePage("c1", server_time=pulled, complete=True), pulled)
    receipt = from_sale(sell(till, now, "M000001"), "anna", till, SHOP)
    el = translator("el")
    zone = till.program.timezone
    assert el("receipt.as_of_sync", date=el.datetime(pulled, zone)) in lines(receipt)
    assert el("receipt.as_of_sync", date=el.datetime(old, zone)) not in lines(receipt)


@pytest.mark.parametrize("lang", ["en", "el", "pl", "fa"])
def test_points_expiring_at_the_shops_midnight_print_the_last_day_they_count(
    till: Till, lang: str
) -> None:
    """end_of_period: points expire at 00:00 on 1 January 2027 in Athens (22:00 UTC on 31
    December). The receipt names 31 December 2026, the last day they can be spent, in the
    shop's time zone: not 1 January, and not the UTC date."""
    now = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
    athens_midnight = dt.datetime(2026, 12, 31, 22, tzinfo=dt.UTC)
    till.apply_snapshots(
        [MemberSnapshot("M000009", to_text(now), card_number="400000000093",
                        display_name="Eleni", language=lang, balance=1750, expiring_points=600,
                        expiring_at=to_text(athens_midnight), has_purchased=True)],
        now,
    )  # fmt: skip
    receipt = from_sale(sell(till, now, "M000009"), "anna", till, SHOP)
    t = translator(lang)
    label = t("receipt.expiring", date=t.date(dt.date(2026, 12, 31)))
    assert rows(receipt)[label] == t.number(600)
    wrong = t("receipt.expiring", date=t.date(dt.date(2027, 1, 1)))
    assert wrong not in rows(receipt)
