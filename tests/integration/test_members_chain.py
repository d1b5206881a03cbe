"""One member across a chain: two real tills and a real head office (SQLite and PostgreSQL).

Head office's clock is moved by an injected clock; the tills keep the real one and learn the
difference (the drift) at each sync, as a real till does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loyalty import outbox
from loyalty.db import utc_now
from loyalty.errors import BadInput, Refused
from loyalty.members import phone_hash
from loyalty.till import Till
from sync.client import SyncClient
from sync.testing import free_port
from terminal.syncing import HeadOfficeLink
from tests.cli_helpers import ROOT, run_till
from tests.sync_fixtures import ADMIN, Shop, assert_exactly_once, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]


class Clock:
    """One moved clock for head office and the tills (each till may be off by ``drift``)."""

    def __init__(self) -> None:
        self.shift = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return utc_now() + self.shift


def assert_balances_agree(shop: Shop, now: dt.datetime, member_id: str, *tills: Till) -> int:
    hq = shop.ho.member(member_id)
    for till in tills:
        local = till.balance(member_id, now)
        assert local.unsynced_points == 0, till.terminal_id
        assert (local.available, local.pending) == (
            hq.balance,
            sum(points for points, _ in hq.pending),
        ), till.terminal_id
    return hq.balance


def test_a_till_synced_a_minute_ago_trusts_a_member_idle_for_three_days(shop: Shop) -> None:
    clock = Clock()
    shop.ho.clock = clock
    shop.member("ANN")
    athens, c_athens = shop.till("ATH1", clock=clock)
    warsaw, c_warsaw = shop.till("WAW1", clock=clock)
    warsaw.adjust("ANN", 2000, "welcome gift", "manager1")
    c_warsaw.sync()
    c_athens.sync()
    assert athens.balance("ANN").available == 2000
    # Three days and an hour later (head office's clock), ANN has not shopped anywhere.
    clock.shift = dt.timedelta(days=3, hours=1)
    # Athens has not synced since: its word on ANN is three days old, too old offline.
    with pytest.raises(Refused) as info:
        buy(athens, "ANN", 2500, clock(), reward_id="five-off")
    assert info.value.code == "snapshot_too_old"
    # A sync that brings nothing new about ANN still says head office's word is current.
    report = c_athens.sync()
    assert report.members == 0
    sale = buy(athens, "ANN", 2500, clock(), reward_id="five-off")
    assert sale.mode == "offline" and sale.after.available == 1500
    c_athens.sync()
    c_warsaw.sync()
    assert assert_balances_agree(shop, clock(), "ANN", athens, warsaw) == 1500


def test_a_member_enrolled_at_one_till_is_found_at_another_by_phone_and_card(
    shop: Shop,
) -> None:
    a, c_a = shop.till("WAW1", country="PL")
    b, c_b = shop.till("WAW2", country="PL")
    ola = a.enroll("Ola", "cashier1", True, "pl", phone="600 100 200")
    before = a.outbox_size()
    with pytest.raises(BadInput) as info:
        a.enroll("Ola", "cashier1", True, "pl", phone="12")
    assert (info.value.code, info.value.params) == ("phone_unparseable", {"country": "PL"})
    assert a.outbox_size() == before  # nothing written
    c_a.sync()
    c_b.sync()
    member_id = ola.member.member_id
    for typed in ("+48 600 100 200", "600-100-200", "0048600100200", "(+48) 600100200"):
        assert b.find_member(typed).member_id == member_id, typed
    card = ola.card_number
    assert b.find_member(" ".join(card[i : i + 4] for i in range(0, 12, 4))).member_id == member_id
    assert b.find_member(f"{card[:6]}-{card[6:]}").member_id == member_id
    # Head office knows the phone: a second enrolment is refused at the other till too.
    with pytest.raises(Refused) as refused:
        b.enroll("Aleksandra", "cashier2", True, "pl", phone="+48600100200")
    assert refused.value.code == "phone_already_enrolled"
    # Head office rotates the chain's phone key: members hashed with the old one are still
    # found, and a member enrolled after it is found at every till.
    shop.ho.rotate_phone_key()
    c_b.sync()
    assert b.find_member("600 100 200").member_id == member_id
    jan = b.enroll("Jan", "cashier2", True, "pl", phone="+48 601 000 111")
    buy(b, member_id, 4200)
    c_b.sync()
    c_a.sync()
    assert a.find_member("601 000 111").member_id == jan.member.member_id
    assert a.find_member("600 100 200").member_id == member_id
    assert assert_balances_agree(shop, utc_now(), member_id, a, b) == 0  # 42 points pending
    assert shop.ho.member(member_id).pending[0][0] == 42
    # The raw number is nowhere on either till.
    for till in (a, b):
        raw = b"".join(f.read_bytes() for f in Path(till.db.path).parent.iterdir() if f.is_file())
        for number in (b"600100200", b"600 100 200", b"601000111"):
            assert number not in raw


def test_enrolling_a_phone_head_office_knows_is_refused_when_online(
    shop: Shop,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Till B pulled before Ola enrolled at till A; `till enroll` at B checks with head
    office first and refuses her phone, and enrols her offline when head office is away."""
    monkeypatch.setenv("TILL_DATA_DIR", str(tmp_path / "b"))
    monkeypatch.setenv("TILL_LANGUAGE", "en")
    monkeypatch.delenv("TILL_HEADOFFICE", raising=False)
    code, out, err = run_till(
        capsys, "init", "--terminal-id", "WAW2", "--program", str(ROOT / "fixtures/program.toml"),
        "--country", "PL", "--headoffice", shop.url, "--admin-token", ADMIN,
    )  # fmt: skip
    assert code == 0 and out["first_sync"] == "ok", err
    a, c_a = shop.till("WAW1", country="PL")
    ola = a.enroll("Ola", "cashier1", True, "pl", phone="600 100 200")
    c_a.sync()
    code, out, err = run_till(
        capsys, "enroll", "--name", "Aleksandra", "--phone", "+48 600-100-200", "--consent"
    )  # fmt: skip
    assert code != 0 and out is None, out
    assert "already exists" in err
    code, balance, _ = run_till(capsys, "balance", "600100200")
    assert code == 0 and balance["member_id"] == ola.member.member_id
    # Head office out of reach: a new phone is enrolled offline, and says so.
    (tmp_path / "b" / "config.toml").write_text('headoffice = "http://127.0.0.1:9"\n')
    code, out, err = run_till(
        capsys, "enroll", "--name", "Jan", "--phone", "601 000 111", "--consent"
    )  # fmt: skip
    assert code == 0 and out["checked_with_headoffice"] is False, err


def test_points_expired_on_the_calendar_are_spent_at_no_till(shop: Shop) -> None:
    """Points given in 2026 expire when 2027 ends (end_of_period, one year). In January 2028
    neither till lets them be spent, though head office has written nothing since; after the
    member's next sale the tills and head office agree to the point."""
    clock = Clock()
    clock.shift = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC) - utc_now()
    shop.ho.clock = clock
    shop.member("ANN")
    athens, c_athens = shop.till("ATH1", clock=clock)
    warsaw, c_warsaw = shop.till("WAW1", clock=clock)
    warsaw.adjust("ANN", 2000, "welcome gift", "manager1", clock())
    c_warsaw.sync()
    c_athens.sync()
    seen = athens.balance("ANN", clock())
    assert (seen.available, seen.expiring_points) == (2000, 2000)
    assert seen.expiring_at == dt.datetime(2027, 12, 31, 22, tzinfo=dt.UTC)  # Athens midnight
    clock.shift = dt.datetime(2028, 1, 2, 12, tzinfo=dt.UTC) - utc_now()
    c_athens.sync()
    c_warsaw.sync()
    for till in (athens, warsaw):
        assert till.balance("ANN", clock()).available == 0, till.terminal_id
    with pytest.raises(Refused) as info:
        buy(athens, "ANN", 2500, clock(), reward_id="five-off")
    assert info.value.code == "insufficient_points"
    buy(athens, "ANN", 2500, clock())
    c_athens.sync()
    c_warsaw.sync()
    assert assert_balances_agree(shop, clock(), "ANN", athens, warsaw) == 0
    assert shop.ho.member("ANN").pending[0][0] == 25


def points_at_headoffice(shop: Shop, *member_ids: str) -> int:
    with shop.ho.store.transaction() as tx:
        rows = tx.all("SELECT member_id, points FROM entries")
    return sum(int(points) for member_id, points in rows if member_id in member_ids)


def test_a_shopper_enrolled_at_two_offline_tills_is_merged_without_losing_a_point(
    shop: Shop,
) -> None:
    a, c_a = shop.till("WAW1", country="PL")
    b, c_b = shop.till("WAW2", country="PL")
    earlier = utc_now() - dt.timedelta(minutes=5)
    ola = a.enroll("Ola", "cashier1", True, "pl", phone="600 100 200", now=earlier).member
    dup = b.enroll("Aleksandra", "cashier2", True, "pl", phone="+48 600 100 200")
    dup_id, dup_card = dup.member.member_id, dup.card_number
    buy(a, ola.member_id, 4200)  # 42 + the welcome bonus (100)
    buy(b, dup_id, 2500)  # 25 + the welcome bonus again
    b.adjust(dup_id, 300, "goodwill: broken jar", "cashier2")
    c_b.sync()  # head office knows one member with this phone: nothing to merge yet
    assert shop.ho.member(dup_id).balance == 300
    c_a.sync()  # Ola was enrolled first: the later enrolment is merged into her
    buy(b, dup_id, 2000)  # till B has not heard of the merge yet: 20 more for the duplicate
    c_b.sync()
    c_a.sync()
    hq_ola, hq_dup = shop.ho.member(ola.member_id), shop.ho.member(dup_id)
    assert (hq_dup.balance, hq_dup.pending, hq_dup.merged_into) == (0, [], ola.member_id)
    assert hq_ola.balance == 300
    assert sum(p for p, _ in hq_ola.pending) == 42 + 100 + 25 + 20  # one welcome bonus
    # Every till finds Ola by the phone, her card and the duplicate's card and id.
    for till in (a, b):
        for code in ("600 100 200", ola.card_number, dup_card, dup_id):
            assert till.find_member(code).member_id == ola.member_id, (till.terminal_id, code)
        assert till.balance(dup_id).member_id == ola.member_id
    assert assert_balances_agree(shop, utc_now(), ola.member_id, a, b) == 300
    # Nothing was edited or lost: every till entry is at head office once, and head office's
    # own entries (the merge's moves, the second welcome taken back) account for the rest.
    assert_exactly_once(shop.ho, a, b)
    till_points = sum(e.points for t in (a, b) for e in outbox.entries_from(t, 1, 1000))
    assert points_at_headoffice(shop, ola.member_id, dup_id) == till_points - 100
    # At a till that knows of the merge, the duplicate's card sells to Ola directly.
    sale = buy(b, b.find_member(dup_card).member_id, 1000)
    assert {e.member_id for e in sale.entries} == {ola.member_id}


def test_a_till_enrolment_of_a_phone_head_office_created_merges_into_head_office_member(
    shop: Shop,
) -> None:
    """Head office's own member (created by its tools, with a phone hash) is the one kept when
    an offline till enrols the same phone, even though head office changed it since."""
    a, c_a = shop.till("WAW1", country="PL")
    b, c_b = shop.till("WAW2", country="PL")  # then offline
    key = a.phone_keys()[-1][1]
    shop.member("HQ-OLA", phone_hash=phone_hash(key, "+48 600 100 200"))
    c_a.sync()
    dup = b.enroll("Ola", "cashier2", True, "pl", phone="600 100 200")
    buy(b, dup.member.member_id, 3000)
    a.adjust("HQ-OLA", 500, "opening balance", "manager1")
    c_a.sync()  # head office's member changed after the till's enrolment
    c_b.sync()
    c_a.sync()
    assert shop.ho.member(dup.member.member_id).merged_into == "HQ-OLA"
    assert shop.ho.member("HQ-OLA").balance == 500
    assert sum(p for p, _ in shop.ho.member("HQ-OLA").pending) == 30 + 100
    assert a.find_member("600 100 200").member_id == "HQ-OLA"
    assert b.find_member(dup.card_number).member_id == "HQ-OLA"


def test_the_app_checks_with_head_office_once_before_an_enrolment(shop: Shop) -> None:
    """Head office out of reach: the app's check gives up at once (no retries, no back-off
    sleeps) and the enrolment goes on offline; within reach it pulls."""
    till, client = shop.till("WAW1", country="PL")
    slept: list[float] = []
    away = SyncClient(till, f"http://127.0.0.1:{free_port()}", "t", sleep=slept.append)
    link = HeadOfficeLink(away)
    try:
        assert link.refresh_members() is False and slept == []
    finally:
        link.close()
    assert HeadOfficeLink(client).refresh_members() is True


def test_a_till_running_days_ahead_keeps_head_office_word_on_a_member_it_enrolled(
    shop: Shop,
) -> None:
    """The till's clock is two days ahead (its drift measured at each sync). A member it enrols
    and sells to keeps their points on the till once head office acknowledges them: head
    office's snapshot is not taken for older than the till's own enrolment."""
    ahead = Clock()
    ahead.shift = dt.timedelta(days=2)
    till, client = shop.till("WAW1", country="PL", clock=ahead)
    ola = till.enroll("Ola", "cashier1", True, "pl", phone="600 100 200", now=ahead())
    buy(till, ola.member.member_id, 4200, ahead())
    client.sync()
    assert assert_balances_agree(shop, ahead(), ola.member.member_id, till) == 0
    assert till.balance(ola.member.member_id, ahead()).pending == 142  # 42 + welcome
