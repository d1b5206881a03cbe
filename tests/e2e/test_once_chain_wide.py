"""Once means once, chain-wide: two real tills, offline from each other, and a real head office
(SQLite and PostgreSQL). Each till may pay a once-only bonus in good faith; head office keeps
the first it stores and takes back every other with an entry of its own, so the member's
balance is exact at head office and, after the pull, at every till."""

from __future__ import annotations

import datetime as dt

from loyalty.db import utc_now
from loyalty.program import localised
from loyalty.refunds import refund
from loyalty.rules import birthday_year
from loyalty.till import Till
from printer import Receipt, Row
from sync.headoffice.own_entries import HEADOFFICE
from sync.headoffice.service import HeadOffice
from terminal.receipts import Shop as ReceiptShop
from terminal.receipts import from_sale
from tests.sync_fixtures import Shop, assert_exactly_once, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]

ATHENS = dt.timezone(dt.timedelta(hours=2))  # the program's Europe/Athens in winter (close enough
# for a birthday window of three days either side)
ONCE = ("promo:welcome", "promo:birthday")
RECEIPT_SHOP = ReceiptShop("Olive & Oak")


def once_bonus_points(ho: HeadOffice, member_id: str) -> int:
    """The welcome and birthday points head office holds for the member, net of refunds and of
    head office's own compensations."""
    with ho.store.transaction() as tx:
        rows = tx.all(
            "SELECT terminal_id, kind, points, reason FROM entries WHERE member_id = ?",
            (member_id,),
        )
    total = 0
    for terminal_id, kind, points, reason in rows:
        if (
            (kind == "bonus" and reason in ONCE)
            or (kind == "reverse" and reason.removeprefix("refund:") in ONCE)
            or terminal_id == HEADOFFICE
            and reason.startswith(("already_paid:", "already_rev"))
        ):
            total += int(points)
    return total


def total_points(ho: HeadOffice, member_id: str) -> int:
    with ho.store.transaction() as tx:
        row = tx.one("SELECT SUM(points) FROM entries WHERE member_id = ?", (member_id,))
    return int(row[0]) if row and row[0] is not None else 0


def assert_exact_everywhere(shop: Shop, member_id: str, *tills: Till) -> None:
    hq = shop.ho.member(member_id)
    held = hq.balance + sum(points for points, _ in hq.pending)
    assert held == total_points(shop.ho, member_id)
    for till in tills:
        local = till.balance(member_id)
        assert local.unsynced_points == 0, till.terminal_id
        assert (local.available, local.pending) == (
            hq.balance,
            sum(points for points, _ in hq.pending),
        ), till.terminal_id


def test_a_birthday_week_member_at_two_offline_tills_gets_300_bonus_points(shop: Shop) -> None:
    athens, c_athens = shop.till("ATH1")
    warsaw, c_warsaw = shop.till("WAW1")
    birthday = utc_now().astimezone(ATHENS).strftime("%m-%d")
    member = athens.enroll("Eleni", "cashier1", consent=True, language="el", birthday=birthday)
    member_id = member.member.member_id
    c_athens.sync()  # head office learns of her,
    c_warsaw.sync()  # and Warsaw pulls her; then the two tills lose touch with each other.

    paid = []
    for till in (athens, athens, warsaw, warsaw):
        sale = buy(till, member_id, 2500)
        paid.append({line.reason: line.points for line in sale.earned})
    # Each till pays the welcome and birthday bonuses once, on its first sale (in good faith).
    assert [p.get("promo:welcome", 0) + p.get("promo:birthday", 0) for p in paid] == [
        300, 0, 300, 0,
    ]  # fmt: skip

    c_athens.sync()
    c_warsaw.sync()
    c_athens.sync()
    assert once_bonus_points(shop.ho, member_id) == 300
    assert_exactly_once(shop.ho, athens, warsaw)
    assert_exact_everywhere(shop, member_id, athens, warsaw)
    # Syncing again writes nothing more.
    entries = shop.ho.entry_count()
    c_warsaw.sync()
    c_athens.sync()
    assert shop.ho.entry_count() == entries
    assert once_bonus_points(shop.ho, member_id) == 300

    # A third sale at Warsaw in the same birthday week: Warsaw already paid this year's
    # birthday bonus, so nothing more is paid or taken back.
    third = buy(warsaw, member_id, 1000)
    assert not {line.reason for line in third.earned} & set(ONCE)


def test_a_refund_of_the_duplicate_does_not_take_the_bonus_twice(shop: Shop) -> None:
    shop.member("ANN")
    athens, c_athens = shop.till("ATH1")
    warsaw, c_warsaw = shop.till("WAW1")
    buy(athens, "ANN", 2500)  # welcome paid at Athens
    second = buy(warsaw, "ANN", 2500)  # and, in good faith, at Warsaw
    c_athens.sync()
    c_warsaw.sync()  # head office takes Warsaw's back
    assert once_bonus_points(shop.ho, "ANN") == 100
    refund(warsaw, second.receipt_no, "cashier1")  # Warsaw's sale comes back whole
    c_warsaw.sync()
    c_athens.sync()
    # The refund reversed Warsaw's welcome bonus too; head office gives that back, since it
    # had already taken it: Athens' welcome stays, once.
    assert once_bonus_points(shop.ho, "ANN") == 100
    assert_exact_everywhere(shop, "ANN", athens, warsaw)


def test_head_office_entries_chain_and_count_once(shop: Shop) -> None:
    shop.member("BOB")
    tills = [shop.till(f"T{i}") for i in range(3)]
    for till, _ in tills:
        buy(till, "BOB", 1500)
    for _, client in tills:
        client.sync()
    assert once_bonus_points(shop.ho, "BOB") == 100
    with shop.ho.store.transaction() as tx:
        own = tx.all(
            "SELECT seq, reason FROM entries WHERE terminal_id = ? ORDER BY seq", (HEADOFFICE,)
        )
    assert [(int(s), r) for s, r in own] == [
        (1, "already_paid:welcome"),
        (2, "already_paid:welcome"),
    ]
    for _, client in tills:
        client.sync()
    assert_exact_everywhere(shop, "BOB", *(till for till, _ in tills))


def test_a_till_pays_no_bonus_head_office_already_holds_as_paid(shop: Shop) -> None:
    """Athens pays the welcome and birthday bonuses and syncs; Warsaw pulls, then sells: it
    pays neither (head office's snapshot says they were paid), so its receipt shows no +200
    that head office would take back, and head office writes no compensating entry."""
    athens, c_athens = shop.till("ATH1")
    warsaw, c_warsaw = shop.till("WAW1")
    birthday = utc_now().astimezone(ATHENS).strftime("%m-%d")
    member = athens.enroll("Eleni", "cashier1", consent=True, language="el", birthday=birthday)
    member_id = member.member.member_id
    c_athens.sync()
    c_warsaw.sync()

    first = buy(athens, member_id, 2500)
    assert {line.reason for line in first.earned} >= set(ONCE)
    c_athens.sync()  # head office holds both as paid,
    c_warsaw.sync()  # and Warsaw hears of it.
    assert warsaw.member(member_id).once_paid == {"welcome", f"birthday:{_year(birthday)}"}

    second = buy(warsaw, member_id, 2500)
    assert not {line.reason for line in second.earned} & set(ONCE)
    birthday_name = localised(warsaw.program.promotion("birthday").name, "el")  # type: ignore[union-attr]
    assert birthday_name in rows(from_sale(first, "cashier1", athens, RECEIPT_SHOP))
    assert birthday_name not in rows(from_sale(second, "cashier1", warsaw, RECEIPT_SHOP))

    c_warsaw.sync()
    c_athens.sync()
    c_warsaw.sync()
    with shop.ho.store.transaction() as tx:
        own = tx.one("SELECT COUNT(*) FROM entries WHERE terminal_id = ?", (HEADOFFICE,))
    assert own is not None and int(own[0]) == 0  # nothing to take back
    assert once_bonus_points(shop.ho, member_id) == 300
    assert_exactly_once(shop.ho, athens, warsaw)
    assert_exact_everywhere(shop, member_id, athens, warsaw)


def _year(birthday: str) -> int:
    today = utc_now().astimezone(ATHENS).date()
    year = birthday_year(birthday, today, 3)
    assert year is not None
    return year


def rows(receipt: Receipt) -> dict[str, str]:
    return {b.label: b.value for b in receipt.blocks if isinstance(b, Row)}
