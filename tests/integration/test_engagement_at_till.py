"""Engagement actions a cashier records at the till (profile completed, email sign-up): the
till refuses what it can see and records the rest offline; head office keeps each within the
program's cap chain-wide and takes back the others, at two offline tills, against a channel's
post, on SQLite and PostgreSQL; `till engage` says why in one line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loyalty.engagement_at_till import record
from loyalty.errors import LoyaltyError, NotFound, Refused
from tests.channel_fixtures import ChannelShop, channel_shop
from tests.cli_helpers import init_data_dir, run_till
from tests.sync_fixtures import postgres, store_url

__all__ = ["channel_shop", "postgres", "store_url"]


def _fails(code: str, fn: object, *args: object) -> LoyaltyError:
    with pytest.raises(LoyaltyError) as caught:
        fn(*args)  # type: ignore[operator]
    assert caught.value.code == code
    return caught.value


def test_two_offline_tills_pay_a_once_ever_action_once(channel_shop: ChannelShop) -> None:
    shop = channel_shop
    shop.member("ANN")
    athens, c_athens = shop.till("ATH1")
    warsaw, c_warsaw = shop.till("WAW1")
    now = shop.clock.now
    # Offline, both tills record ANN's completed profile (100 points, once ever).
    for till in (athens, warsaw):
        entry = record(till, "ANN", "profile_completed", "cashier1", now)
        assert (entry.kind, entry.points) == ("bonus", 100)
        assert entry.reason == "engage:profile_completed"
        assert till.balance("ANN", now).pending == 100
    # The same till refuses a second one itself.
    _fails("engagement_capped", record, athens, "ANN", "profile_completed", "cashier1", now)
    c_athens.sync()
    c_warsaw.sync()
    c_athens.sync()
    hq = shop.ho.member("ANN")
    assert sum(x for x, _ in hq.pending) == 100
    for till in (athens, warsaw):
        assert till.balance("ANN", now).pending == 100
    with shop.ho.store.transaction() as tx:
        took = tx.all("SELECT reason, points FROM entries WHERE terminal_id = '@headoffice'")
    assert took == [("engagement_capped:profile_completed", -100)]


def test_an_action_the_web_shop_posted_is_taken_back_from_a_till(
    channel_shop: ChannelShop,
) -> None:
    shop = channel_shop
    shop.member("BOB")
    till, client = shop.till("ATH1")
    web = shop.channel("web")
    web.ok("events", {"member_id": "BOB", "event_id": "E-1", "action": "email_signup"})
    record(till, "BOB", "email_signup", "cashier1", shop.clock.now)  # offline: in good faith
    client.sync()
    assert sum(x for x, _ in shop.ho.member("BOB").pending) == 25
    assert till.balance("BOB", shop.clock.now).pending == 25
    # Once head office holds it, another post of the action is refused outright.
    again = web.post("events", {"member_id": "BOB", "event_id": "E-2", "action": "email_signup"})
    assert again.json()["code"] == "engagement_capped"


def test_a_dishonest_till_gets_no_more_than_the_rule(channel_shop: ChannelShop) -> None:
    """A till that writes its own engagement entries (more points, an action only channels may
    post) keeps no more than the rule pays: head office takes the rest back."""
    from loyalty import ledger
    from loyalty.db import to_text
    from loyalty.ledger import NewEntry

    shop = channel_shop
    shop.member("CAT")
    till, client = shop.till("ATH1")
    program = till.program
    with till.db.write() as conn:
        ledger.append(
            conn, till.terminal_id,
            [NewEntry("CAT", "bonus", 500, reason="engage:profile_completed"),
             NewEntry("CAT", "bonus", 50, reason="engage:review_written")],
            currency=program.currency, program_version=program.version,
            occurred_at=to_text(shop.clock.now), offline=True, cashier_id="cashier1",
        )  # fmt: skip
    client.sync()
    assert sum(x for x, _ in shop.ho.member("CAT").pending) == 100
    with shop.ho.store.transaction() as tx:
        took = tx.all(
            "SELECT reason, points FROM entries WHERE terminal_id = '@headoffice' ORDER BY seq"
        )
    assert took == [("engagement_above_rule:profile_completed", -400),
                    ("engagement_not_at_till:review_written", -50)]  # fmt: skip


def test_the_till_refuses_what_it_can_see(channel_shop: ChannelShop) -> None:
    shop = channel_shop
    shop.member("DAN")
    till, _ = shop.till("ATH1")
    now = shop.clock.now
    assert isinstance(_fails("unknown_action", record, till, "DAN", "liked", "cashier1"), NotFound)
    assert isinstance(
        _fails("action_not_at_till", record, till, "DAN", "review_written", "cashier1"), Refused
    )
    _fails("unknown_member", record, till, "NOBODY", "email_signup", "cashier1")
    record(till, "DAN", "email_signup", "cashier1", now)
    # Once ever: a year later it is still capped.
    later = now + dt.timedelta(days=400)
    _fails("engagement_capped", record, till, "DAN", "email_signup", "cashier1", later)


def test_till_engage_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    init_data_dir(tmp_path, monkeypatch, capsys, TILL_CASHIER="cashier1")
    code, out, _ = run_till(capsys, "engage", "M000001", "profile_completed")
    assert code == 0 and (out["points"], out["balance"]["pending"]) == (100, 100)
    code, out, err = run_till(capsys, "engage", "M000001", "profile_completed")
    assert code != 0 and out is None
    assert "profile_completed" in err and "\n" not in err.strip()

