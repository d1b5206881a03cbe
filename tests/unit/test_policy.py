"""The offline policy, case by case (allowance 1000/member, budget 20000/till, 72 h snapshot)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from loyalty.policy import Authorisation, Override, decide
from loyalty.program import load_program

POLICY = load_program(
    str(Path(__file__).resolve().parents[2] / "fixtures" / "program.toml")
).offline
NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
FRESH = NOW - dt.timedelta(hours=2)


def test_within_every_limit_is_allowed_offline() -> None:
    d = decide(POLICY, 500, 1200, 0, 0, FRESH, NOW)
    assert (d.allowed, d.mode, d.limit) == (True, "offline", 1000)


def test_more_than_the_balance_is_refused_and_no_override_helps() -> None:
    d = decide(POLICY, 1300, 1200, 0, 0, FRESH, NOW, override=Override("mgr", "regular"))
    assert (d.allowed, d.refusal, d.next_steps) == (False, "insufficient_points", ())


def test_member_allowance_counts_what_was_already_redeemed_offline() -> None:
    d = decide(POLICY, 500, 5000, 600, 0, FRESH, NOW)
    assert (d.allowed, d.refusal, d.limit) == (False, "member_offline_allowance_reached", 400)
    assert d.next_steps == ("online_authorisation", "manager_override")


def test_terminal_budget() -> None:
    d = decide(POLICY, 800, 5000, 0, 19500, FRESH, NOW)
    assert (d.allowed, d.refusal, d.limit) == (False, "terminal_offline_budget_reached", 500)


def test_a_stale_snapshot_allows_nothing_offline() -> None:
    d = decide(POLICY, 10, 5000, 0, 0, NOW - dt.timedelta(hours=73), NOW)
    assert (d.allowed, d.refusal, d.limit) == (False, "snapshot_too_old", 0)
    assert decide(POLICY, 10, 5000, 0, 0, None, NOW).refusal == "snapshot_too_old"


def test_online_authorisation_lifts_the_offline_limits_but_not_the_balance() -> None:
    hold = Authorisation("H1", "M1", 3000)
    assert decide(POLICY, 3000, 5000, 900, 0, FRESH, NOW, hold).mode == "online"
    assert decide(POLICY, 3000, 2000, 0, 0, FRESH, NOW, hold).refusal == "insufficient_points"


def test_manager_override_needs_a_reason_and_stays_under_its_ceiling() -> None:
    override = Override("mgr-1", "regular customer, network down")
    assert decide(POLICY, 2000, 5000, 0, 0, FRESH, NOW, override=override).mode == "override"
    assert not decide(POLICY, 2000, 5000, 0, 0, FRESH, NOW, override=Override("m", " ")).allowed
    too_much = decide(POLICY, 3500, 5000, 0, 0, FRESH, NOW, override=override)
    assert (too_much.allowed, too_much.next_steps) == (False, ("online_authorisation",))


def test_the_last_day_points_count_is_the_shops_day_before_their_expiry() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from loyalty.balance import last_day

    athens = ZoneInfo("Europe/Athens")
    # At the shop's midnight: the day before, in the shop's zone (UTC says 31 Dec too here,
    # Athens would say 1 Jan if the moment were taken as the day).
    assert last_day(dt.datetime(2026, 12, 31, 22, tzinfo=dt.UTC), athens) == dt.date(2026, 12, 31)
    # In Warsaw's zone the same moment is 23:00 on 31 December: that day still counts.
    warsaw = ZoneInfo("Europe/Warsaw")
    assert last_day(dt.datetime(2026, 12, 31, 22, tzinfo=dt.UTC), warsaw) == dt.date(2026, 12, 31)
    # Summer time: 1 July 00:00 in Athens is 21:00 UTC on 30 June.
    assert last_day(dt.datetime(2027, 6, 30, 21, tzinfo=dt.UTC), athens) == dt.date(2027, 6, 30)
    # Not at midnight (a time of day): that day is the last.
    assert last_day(dt.datetime(2027, 7, 1, 9, tzinfo=dt.UTC), athens) == dt.date(2027, 7, 1)
