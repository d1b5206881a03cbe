"""Referrals across a chain: a real head office (SQLite and PostgreSQL) on a real socket, tills
that sync with it over HTTP. A referral credits both members once, after the new member's
first qualifying purchase, even when that purchase happens at two offline tills at once; the
fraud cases are refused with a reason head office can see."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from loyalty import ledger, referrals
from loyalty.db import to_text, utc_now
from loyalty.errors import BadInput
from loyalty.ledger import NewEntry
from loyalty.refunds import refund
from loyalty.rules import BasketLine
from sync.client import SyncClient
from sync.headoffice.store import Tx
from tests.sync_fixtures import Shop, assert_exactly_once, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]


def referral(shop: Shop, member_id: str) -> tuple[str, str, str | None]:
    with shop.ho.store.transaction() as tx:
        row = tx.one(
            "SELECT status, reason, referrer_id FROM referrals WHERE member_id = ?", (member_id,)
        )
    assert row is not None, member_id
    return row[0], row[1], row[2]


def referral_bonuses(shop: Shop) -> list[tuple[str, int, str]]:
    with shop.ho.store.transaction() as tx:
        return [
            (r[0], int(r[1]), r[2])
            for r in tx.all(
                "SELECT member_id, points, reason FROM entries WHERE terminal_id = '@headoffice' "
                "AND reason LIKE 'referral:%' ORDER BY member_id"
            )
        ]


def alerts(tx: Tx) -> set[tuple[str, str]]:
    return {(r[0], r[1]) for r in tx.all("SELECT kind, member_id FROM alerts")}


def test_every_member_has_a_code_that_travels_with_them(shop: Shop) -> None:
    a, c_a = shop.till("ATH1")
    b, _ = shop.till("ATH2", pull=False)
    anna = a.enroll("Anna", "cashier1", True, "el").member
    assert anna.referral_code is not None and referrals.is_code(anna.referral_code)
    c_a.sync()
    assert shop.ho.member(anna.member_id).referral_code == anna.referral_code
    shop.member("HQ1", display_name="Head office's own")
    made_here = shop.ho.member("HQ1").referral_code
    assert made_here is not None and referrals.is_code(made_here)
    assert shop.ho.member("HQ1").referral_code == made_here  # given once, then kept
    _, c_b = shop.till("ATH3")
    b.close()
    till_b, _ = shop.till("ATH4")
    for till in (a, till_b):
        with till.db.read() as conn:
            codes = dict(conn.execute("SELECT member_id, referral_code FROM members"))
        assert codes.get("HQ1") == made_here or till is a
    assert till_b.member(anna.member_id).referral_code == anna.referral_code


def test_a_mistyped_code_is_refused_at_the_till_and_nothing_is_enrolled(shop: Shop) -> None:
    a, c_a = shop.till("ATH1")
    code = a.enroll("Anna", "cashier1", True).member.referral_code
    assert code is not None
    typo = code[:3] + ("Z" if code[3] != "Z" else "Y") + code[4:]
    with pytest.raises(BadInput) as refused:
        a.enroll("Bea", "cashier1", True, referred_by=typo)
    assert refused.value.code == "referral_code_mistyped"
    for sloppy in ("O" + code[1:], code[:7], code + "2"):
        with pytest.raises(BadInput):
            a.enroll("Bea", "cashier1", True, referred_by=sloppy)
    with a.db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM enrolments").fetchone()[0] == 1
    # Typed in lower case with a space: the same code.
    bea = a.enroll("Bea", "cashier1", True, referred_by=code.lower()[:4] + " " + code[4:])
    assert bea.referred_by == code


def test_a_referral_credits_both_once_when_the_first_purchase_is_at_two_offline_tills(
    shop: Shop,
) -> None:
    a, c_a = shop.till("ATH1")
    anna = a.enroll("Anna", "cashier1", True).member
    c_a.sync()
    b, c_b = shop.till("ATH2")
    bea = b.enroll("Bea", "cashier2", True, referred_by=anna.referral_code).member
    c_b.sync()
    assert referral(shop, bea.member_id) == ("pending", "", anna.member_id)
    c_a.sync()  # till A knows Bea now; both go offline
    buy(a, bea.member_id, 1500)  # below the minimum spend: not qualifying
    buy(a, bea.member_id, 3000)
    buy(b, bea.member_id, 4000)
    c_b.sync()
    c_a.sync()
    c_b.sync()
    assert referral(shop, bea.member_id)[0] == "credited"
    assert referral_bonuses(shop) == sorted(
        [(bea.member_id, 100, f"referral:{anna.member_id}"),
         (anna.member_id, 200, f"referral:{bea.member_id}")]
    )  # fmt: skip
    assert_exactly_once(shop.ho, a, b)
    now = utc_now()
    for member in (anna, bea):
        hq = shop.ho.member(member.member_id)
        expected = hq.balance + sum(x for x, _ in hq.pending)
        for till in (a, b):
            local = till.balance(member.member_id, now)
            assert local.available + local.pending == expected, (till.terminal_id, member)
    # A later purchase pays no referral again.
    buy(b, bea.member_id, 5000)
    c_b.sync()
    assert len(referral_bonuses(shop)) == 2


def test_a_till_that_adds_a_referrer_to_an_old_enrolment_is_refused(shop: Shop) -> None:
    a, c_a = shop.till("ATH1")
    anna = a.enroll("Anna", "cashier1", True).member
    bea = a.enroll("Bea", "cashier1", True).member
    buy(a, bea.member_id, 3000)
    c_a.sync()
    # The till's owner edits its database: Bea "was referred" by Anna, sent again.
    raw = sqlite3.connect(a.db.path)
    raw.execute(
        "UPDATE enrolments SET referred_by = ?, acked_at = NULL WHERE member_id = ?",
        (anna.referral_code, bea.member_id),
    )
    raw.commit()
    raw.close()
    buy(a, bea.member_id, 3000)
    c_a.sync()
    assert referral(shop, bea.member_id) == ("refused", "referral_existing_member", anna.member_id)
    assert referral_bonuses(shop) == []
    with shop.ho.store.transaction() as tx:
        assert ("referral_existing_member", bea.member_id) in alerts(tx)


def test_self_same_phone_unknown_and_loop_are_refused_with_their_reason(shop: Shop) -> None:
    a, c_a = shop.till("WAW1", country="PL")
    b, c_b = shop.till("WAW2", country="PL")
    ola = a.enroll("Ola", "cashier1", True, "pl", phone="600 100 200").member
    # Till B has not heard of Ola (both offline): her phone on a second account, with her
    # own code. Till B cannot tell; head office can.
    dup = b.enroll("Aleksandra", "cashier2", True, "pl", phone="+48 600 100 200",
                   referred_by=ola.referral_code).member  # fmt: skip
    unknown = b.enroll("Zosia", "cashier2", True, "pl", referred_by=referrals.new_code()).member
    c_a.sync()
    c_b.sync()
    assert referral(shop, dup.member_id)[:2] == ("refused", "referral_same_phone")
    assert referral(shop, unknown.member_id)[:2] == ("refused", "referral_unknown_code")
    # Online: a member signing up with their own code, and a loop (Kasia referred Jan; Jan's
    # code sent again for Kasia).
    shop.member("WEB1", display_name="Kasia")
    kasia = shop.ho.member("WEB1").referral_code
    shop.member("WEB2", display_name="Jan", referred_by=kasia)
    shop.member("WEB3", display_name="Piotr")
    shop.member("WEB3", display_name="Piotr", referred_by=shop.ho.member("WEB3").referral_code)
    assert referral(shop, "WEB3")[:2] == ("refused", "referral_self")
    jan = shop.ho.member("WEB2").referral_code
    shop.member("WEB1", display_name="Kasia", referred_by=jan)
    assert referral(shop, "WEB2") == ("pending", "", "WEB1")
    assert referral(shop, "WEB1")[:2] == ("refused", "referral_loop")
    with shop.ho.store.transaction() as tx:
        seen = alerts(tx)
    for reason, member_id in (
        ("referral_same_phone", dup.member_id),
        ("referral_unknown_code", unknown.member_id),
        ("referral_loop", "WEB1"),
    ):
        assert (reason, member_id) in seen
    # Nobody was credited for any of them, whatever they buy.
    for member in (dup, unknown):
        buy(b, member.member_id, 5000)
    c_b.sync()
    assert referral_bonuses(shop) == []


class Clock:
    """Head office's clock and the tills' `now`, moved by the test."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def test_the_monthly_cap_counts_per_shop_month_across_the_boundary(shop: Shop) -> None:
    # 31 January 2027, 21:00 UTC: 23:00 in Athens, still January there.
    clock = Clock(dt.datetime(2027, 1, 31, 21, 0, tzinfo=dt.UTC))
    shop.ho.clock = clock
    a, c_a = shop.till("ATH1", clock=clock)
    anna = a.enroll("Anna", "cashier1", True, now=clock()).member
    friends = [
        a.enroll(f"Friend {i}", "cashier1", True, referred_by=anna.referral_code, now=clock())
        .member.member_id
        for i in range(8)
    ]
    c_a.sync()
    for friend in friends[:6]:  # cap 5 a month: the sixth is capped
        buy(a, friend, 2500, now=clock())
    c_a.sync()
    # 22:30 UTC: 00:30 on 1 February in Athens (still January in UTC): February's cap.
    clock.at = dt.datetime(2027, 1, 31, 22, 30, tzinfo=dt.UTC)
    buy(a, friends[6], 2500, now=clock())
    # A till whose clock runs a month ahead cannot move a referral into March.
    buy(a, friends[7], 2500, now=clock() + dt.timedelta(days=31))
    c_a.sync()
    statuses = [referral(shop, f)[:2] for f in friends]
    assert statuses[:5] == [("credited", "")] * 5
    assert statuses[5] == ("refused", "referral_capped")
    assert statuses[6:] == [("credited", "")] * 2
    with shop.ho.store.transaction() as tx:
        months = dict(
            (r[0], int(r[1]))
            for r in tx.all("SELECT month, n FROM referral_months WHERE referrer_id = ?",
                            (anna.member_id,))
        )  # fmt: skip
        assert ("referral_capped", friends[5]) in alerts(tx)
    assert months == {"2027-01": 5, "2027-02": 2}
    anna_bonus = [x for x in referral_bonuses(shop) if x[0] == anna.member_id]
    assert len(anna_bonus) == 7 and all(points == 200 for _, points, _ in anna_bonus)
    assert not [x for x in referral_bonuses(shop) if x[0] == friends[5]]
    # Every till hears of the credits: Anna's pending points at the till are head office's.
    hq = shop.ho.member(anna.member_id)
    local = a.balance(anna.member_id, clock())
    assert local.unsynced_points == 0
    assert local.pending == sum(x for x, _ in hq.pending) == 7 * 200


def test_a_till_that_writes_a_referral_bonus_itself_is_held_not_credited(shop: Shop) -> None:
    """A modified till writes a 'referral' bonus into its own ledger with a sound hash chain
    (small enough for any promotion's arithmetic): only head office pays referrals."""
    a, c_a = shop.till("ATH1")
    anna = a.enroll("Anna", "cashier1", True).member
    program = a.program
    with a.db.write() as conn:
        (forged,) = ledger.append(
            conn, a.terminal_id, [NewEntry(anna.member_id, "bonus", 90, reason="referral:M1")],
            currency=program.currency, program_version=program.version,
            occurred_at=to_text(utc_now()), offline=True, cashier_id="cashier1",
        )  # fmt: skip
    c_a.sync()
    with shop.ho.store.transaction() as tx:
        held = tx.all("SELECT entry_id, reason FROM held_entries")
        credited = tx.one("SELECT 1 FROM entries WHERE entry_id = ?", (forged.entry_id,))
        seen = alerts(tx)
    assert held == [(forged.entry_id, "points_beyond_program")] and credited is None
    assert ("points_beyond_program", anna.member_id) in seen
    assert shop.ho.member(anna.member_id).pending == []


def test_two_tills_pushing_the_first_purchase_at_the_same_moment_credit_once(
    shop: Shop,
) -> None:
    a, c_a = shop.till("ATH1")
    anna = a.enroll("Anna", "cashier1", True).member
    c_a.sync()
    b, c_b = shop.till("ATH2")
    c = [shop.till(f"ATH{i}") for i in range(3, 5)]
    bea = b.enroll("Bea", "cashier2", True, referred_by=anna.referral_code).member
    c_b.sync()
    tills = [(a, c_a), (b, c_b), *c]
    for till, client in tills:
        client.sync()  # every till knows Bea; then all offline, each sells to her
        buy(till, bea.member_id, 3000)
    start = threading.Barrier(len(tills))

    def push(client: SyncClient) -> None:
        start.wait()
        client.sync()

    with ThreadPoolExecutor(len(tills)) as pool:
        list(pool.map(push, [client for _, client in tills]))
    for _, client in tills:
        client.sync()
    assert referral(shop, bea.member_id)[0] == "credited"
    assert sorted(x[:2] for x in referral_bonuses(shop)) == sorted(
        [(anna.member_id, 200), (bea.member_id, 100)]
    )
    assert_exactly_once(shop.ho, *(till for till, _ in tills))
    for member in (anna, bea):
        hq = shop.ho.member(member.member_id)
        for till, _ in tills:
            local = till.balance(member.member_id)
            assert local.unsynced_points == 0
            assert local.available + local.pending == hq.balance + sum(x for x, _ in hq.pending)


def test_returning_the_qualifying_purchase_takes_both_bonuses_back_once(shop: Shop) -> None:
    a, c_a = shop.till("ATH1")
    anna = a.enroll("Anna", "cashier1", True).member
    bea = a.enroll("Bea", "cashier1", True, referred_by=anna.referral_code).member
    sale = buy(a, bea.member_id, 5000)  # EUR 50, minimum EUR 20
    c_a.sync()
    assert referral(shop, bea.member_id)[0] == "credited"
    # EUR 25 comes back: EUR 25 still bought, still qualifying.
    refund(a, sale.receipt_no, "cashier1", [BasketLine("SKU-1", "grocery", 2500)])
    c_a.sync()
    assert referral(shop, bea.member_id)[0] == "credited"
    # The rest comes back: below the minimum; head office takes both bonuses back, once.
    refund(a, sale.receipt_no, "cashier1")
    c_a.sync()
    c_a.sync()
    assert referral(shop, bea.member_id)[:2] == ("refused", "referral_refunded")
    assert sorted(x[:2] for x in referral_bonuses(shop)) == sorted(
        [(anna.member_id, 200), (bea.member_id, 100)]
    )
    with shop.ho.store.transaction() as tx:
        back = tx.all(
            "SELECT member_id, points FROM entries WHERE terminal_id = '@headoffice' "
            "AND reason LIKE 'referral_refunded:%' ORDER BY member_id"
        )
        assert ("referral_refunded", bea.member_id) in alerts(tx)
    assert sorted((r[0], int(r[1])) for r in back) == sorted(
        [(anna.member_id, -200), (bea.member_id, -100)]
    )
    assert shop.ho.member(anna.member_id).pending == []
    local = a.balance(anna.member_id)
    assert (local.available, local.pending, local.unsynced_points) == (0, 0, 0)
