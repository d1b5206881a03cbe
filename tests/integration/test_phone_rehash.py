"""Phone keys rotated, brought forward member by member, and retired: real tills and a real head
office (SQLite and PostgreSQL). Head office cannot re-hash a number it holds only as a hash; a
till that is given the number re-hashes it under the current key and pushes the new hash."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loyalty.db import utc_now
from loyalty.errors import NotFound, Refused
from loyalty.members import phone_hash
from sync.headoffice.jobs import run_due
from sync.headoffice.phone_keys import RETIRE_AFTER
from tests.sync_fixtures import Shop, assert_exactly_once, buy, postgres, shop, store_url

__all__ = ["postgres", "shop", "store_url"]

OLA = "600 100 200"
JAN = "601 000 111"


def hq_hash(shop: Shop, member_id: str) -> str | None:
    with shop.ho.store.transaction() as tx:
        row = tx.one("SELECT phone_hash FROM members WHERE member_id = ?", (member_id,))
    return None if row is None else row[0]


def key(till: object, key_id: str) -> str:
    return dict(till.phone_keys())[key_id]  # type: ignore[attr-defined]


def test_a_member_hashed_under_an_old_key_is_rehashed_merged_and_the_old_key_retired(
    shop: Shop,
) -> None:
    """Ola enrolled at till A under key p1 and, after head office rotated to p2, again at
    offline till C under p2: two members head office cannot tell apart. When Ola's number is
    typed at till B, B sends her hash under p2; head office replaces p1's hash and merges the
    duplicate into her, without losing a point. 400 days after the rotation p1 is retired
    everywhere; Ola is still found by phone, Jan (never typed since) only by card."""
    a, c_a = shop.till("WAW1", country="PL")
    b, c_b = shop.till("WAW2", country="PL")
    jan = a.enroll("Jan", "cashier1", True, "pl", phone=JAN)
    c_a.sync()
    rotated_at = utc_now()
    assert shop.ho.rotate_phone_key() == "p2"
    c, c_c = shop.till("WAW3", country="PL")  # holds p2 and Jan, then offline
    ola = a.enroll("Ola", "cashier1", True, "pl", phone=OLA).member  # A: only p1 yet
    buy(a, ola.member_id, 4200)  # 42 + the welcome bonus
    dup = c.enroll("Aleksandra", "cashier3", True, "pl", phone="+48 600 100 200").member
    buy(c, dup.member_id, 2500)  # 25 + a second welcome bonus
    c_a.sync()
    c_c.sync()
    assert hq_hash(shop, ola.member_id) == phone_hash(key(a, "p1"), OLA, "PL")
    assert hq_hash(shop, dup.member_id) == phone_hash(key(c, "p2"), OLA, "PL")
    assert shop.ho.member(dup.member_id).merged_into is None  # nothing to tell them apart by
    c_b.sync()
    with pytest.raises(NotFound):
        b.find_member(OLA)  # two members answer to the number: the cashier must ask
    c_b.sync()  # B's look-up sent Ola's hash under p2: head office merges the two
    assert hq_hash(shop, ola.member_id) == phone_hash(key(b, "p2"), OLA, "PL")
    assert shop.ho.member(dup.member_id).merged_into == ola.member_id
    for client in (c_a, c_b, c_c):
        client.sync()
    hq = shop.ho.member(ola.member_id)
    assert sum(points for points, _ in hq.pending) == 42 + 100 + 25  # one welcome bonus
    for till in (a, b, c):
        assert till.find_member(OLA).member_id == ola.member_id, till.terminal_id
        seen = till.balance(ola.member_id)
        assert (seen.pending, seen.unsynced_points) == (167, 0), till.terminal_id
    assert_exactly_once(shop.ho, a, b, c)
    # Not due yet a day before: p1 stays.
    assert (
        run_due(shop.ho, rotated_at + RETIRE_AFTER - dt.timedelta(days=1)).phone_keys_retired == []
    )
    report = run_due(shop.ho, rotated_at + RETIRE_AFTER + dt.timedelta(minutes=1))
    assert report.phone_keys_retired == ["p1"]
    for client, till in ((c_a, a), (c_b, b), (c_c, c)):
        client.sync()
        assert [k for k, _ in till.phone_keys()] == ["local", "p2"], till.terminal_id
        assert till.find_member(OLA).member_id == ola.member_id
        with pytest.raises(NotFound):
            till.find_member(JAN)  # hashed under p1 only, and p1 is gone
        assert till.find_member(jan.card_number).member_id == jan.member.member_id
    assert shop.ho.rotate_phone_key() == "p3"  # ids are never reused


def test_an_enrolment_refused_as_a_duplicate_rehashes_the_member_it_found(shop: Shop) -> None:
    a, c_a = shop.till("WAW1", country="PL")
    ola = a.enroll("Ola", "cashier1", True, "pl", phone=OLA).member
    c_a.sync()
    shop.ho.rotate_phone_key()
    c_a.sync()
    with pytest.raises(Refused):
        a.enroll("Ola", "cashier1", True, "pl", phone="+48600100200")
    c_a.sync()
    assert hq_hash(shop, ola.member_id) == phone_hash(key(a, "p2"), OLA, "PL")
    assert a.find_member(OLA).member_id == ola.member_id


def test_a_rehash_head_office_cannot_trust_changes_nothing(shop: Shop, tmp_path: Path) -> None:
    """A dishonest till writes re-hashes into its own outbox: another member's hash (not the
    one it holds), and one under a key that is no longer current. Head office applies neither
    (the till sends them no more); an honest one under the current key still goes through."""
    a, c_a = shop.till("WAW1", country="PL")
    b, c_b = shop.till("WAW2", country="PL")
    jan = a.enroll("Jan", "cashier1", True, "pl", phone=JAN).member
    ola = a.enroll("Ola", "cashier1", True, "pl", phone=OLA).member
    c_a.sync()
    shop.ho.rotate_phone_key()
    c_b.sync()
    jan_p1 = hq_hash(shop, jan.member_id)
    mallory = phone_hash(key(b, "p2"), "+48 602 999 999", "PL")
    rows = [
        (jan.member_id, "0" * 64, mallory, "p2"),  # not Jan's hash: someone else's phone
        (ola.member_id, hq_hash(shop, ola.member_id), mallory, "p1"),  # not the current key
    ]
    with b.db.write() as conn:
        conn.executemany(
            "INSERT INTO phone_rehashes (member_id, old_hash, phone_hash, key_id, created_at) "
            "VALUES (?, ?, ?, ?, '2026-12-01T00:00:00.000000Z')",
            rows,
        )
    c_b.sync()
    assert hq_hash(shop, jan.member_id) == jan_p1
    assert hq_hash(shop, ola.member_id) == phone_hash(key(a, "p1"), OLA, "PL")
    with b.db.read() as conn:
        assert (
            conn.execute("SELECT COUNT(*) FROM phone_rehashes WHERE acked_at IS NULL").fetchone()[0]
            == 0
        )
    assert b.find_member(JAN).member_id == jan.member_id  # the honest look-up
    c_b.sync()
    assert hq_hash(shop, jan.member_id) == phone_hash(key(b, "p2"), JAN, "PL")
    # The raw numbers are on no till and not in head office's database.
    files = [f for t in (a, b) for f in Path(t.db.path).parent.iterdir() if f.is_file()]
    files += [f for f in tmp_path.glob("headoffice.sqlite*")]
    raw = b"".join(f.read_bytes() for f in files)
    for number in (b"600100200", b"601000111", b"602999999"):
        assert number not in raw


def test_an_erased_member_leaves_no_rehash_behind(shop: Shop) -> None:
    """A re-hash waiting in a till's outbox is personal data: when head office erases the
    member, the pull removes it with the member; head office never revives an erased hash."""
    a, c_a = shop.till("WAW1", country="PL")
    ola = a.enroll("Ola", "cashier1", True, "pl", phone=OLA).member
    c_a.sync()
    shop.ho.rotate_phone_key()
    c_a.pull()
    a.find_member(OLA)  # re-hash queued, not pushed yet
    with a.db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM phone_rehashes").fetchone()[0] == 1
    shop.ho.erase_member(ola.member_id)
    c_a.sync()
    with a.db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM phone_rehashes").fetchone()[0] == 0
    assert hq_hash(shop, ola.member_id) is None


def test_a_till_sends_rehashes_only_to_a_head_office_that_reads_them(tmp_path: Path) -> None:
    """A head office that predates re-hashes refuses a push with a field it does not know:
    a till sends them only after a pull said head office reads them, and a push without any
    leaves the field out altogether."""
    from loyalty import outbox
    from loyalty.outbox import ChangePage
    from loyalty.till import Till
    from sync import protocol as p
    from tests.sync_fixtures import PROGRAM

    till = Till.open(tmp_path / "T1", must_exist=False)
    till.initialise("T1", PROGRAM, "program.toml")
    with till.db.write() as conn:
        conn.execute(
            "INSERT INTO phone_rehashes (member_id, old_hash, phone_hash, key_id, created_at) "
            "VALUES ('M1', ?, ?, 'p2', '2026-12-01T00:00:00.000000Z')",
            ("a" * 64, "b" * 64),
        )
    assert outbox.pending_rehashes(till) == []  # never heard from head office
    outbox.apply_page(till, ChangePage(cursor="c1", takes_phone_rehashes=True))
    assert [r.member_id for r in outbox.pending_rehashes(till)] == ["M1"]
    outbox.apply_page(till, ChangePage(cursor="c2"))  # head office went back a version
    assert outbox.pending_rehashes(till) == []
    assert b"phone_rehashes" not in p.encode(p.PushRequest("T1", []))
    till.close()
