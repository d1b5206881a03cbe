"""The program's engagement rules (loyalty/engagement.py): read from the program, refused
without a cap, and the pure decision of a cap per period and a minimum account age."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loyalty.engagement import period_key, refusal
from loyalty.errors import ProgramError
from loyalty.program import parse_program

PROGRAM = (Path(__file__).resolve().parents[2] / "fixtures" / "program.toml").read_text("utf-8")
RULE = '\n[[engagement]]\naction = "review_written"\nname = "Review"\npoints = 50\n'


def _with(rules: str) -> str:
    head, _, tail = PROGRAM.partition("[points_payment]")
    without = "\n".join(x for x in head.split("[[engagement]]")[:1])
    return without + rules + "\n[points_payment]" + tail


def test_the_sample_program_has_its_rules() -> None:
    program = parse_program(PROGRAM)
    rule = program.engagement_rule("review_written")
    assert rule is not None and (rule.points, rule.cap, rule.period) == (50, 3, "month")
    assert rule.min_account_age_days == 7 and rule.reason == "engage:review_written"
    assert [r.action for r in program.engagement if r.at_till] == [
        "profile_completed", "email_signup"]  # fmt: skip
    assert program.engagement_rule("nope") is None


@pytest.mark.parametrize(
    ("extra", "field", "problem"),
    [
        ("points = 50", "engagement[0].cap", "engagement_without_cap"),
        ('points = 50\ncap = 0\nperiod = "day"', "engagement[0].cap", "below_minimum"),
        ('points = 50\ncap = 1\nperiod = "fortnight"', "engagement[0].period", "not_one_of"),
        ("points = 50\ncap = 1", "engagement[0].period", "missing"),
        ('points = 0\ncap = 1\nperiod = "day"', "engagement[0].points", "below_minimum"),
    ],
)
def test_a_rule_without_a_bound_is_refused_at_load(extra: str, field: str, problem: str) -> None:
    text = _with(RULE.replace("points = 50\n", "") + extra)
    with pytest.raises(ProgramError) as caught:
        parse_program(text)
    assert (caught.value.field, caught.value.problem) == (field, problem)
    if problem == "engagement_without_cap":
        assert caught.value.params["action"] == "review_written"


def test_an_action_name_is_a_code_and_used_once() -> None:
    with pytest.raises(ProgramError) as caught:
        parse_program(_with(RULE.replace("review_written", "Review Written") + "cap = 1\n"
                            'period = "day"'))  # fmt: skip
    assert caught.value.problem == "not_an_action"
    twice = RULE + 'cap = 1\nperiod = "day"\n'
    with pytest.raises(ProgramError) as caught:
        parse_program(_with(twice + twice))
    assert (caught.value.field, caught.value.problem) == ("engagement[1].action", "duplicate_id")


def test_period_keys() -> None:
    day = dt.date(2026, 12, 31)
    assert [period_key(p, day) for p in ("day", "week", "month", "year", "ever")] == [
        "2026-12-31", "2026-W53", "2026-12", "2026", "ever"]  # fmt: skip
    assert period_key("week", dt.date(2027, 1, 3)) == "2026-W53"  # ISO weeks cross years
    assert period_key("week", dt.date(2027, 1, 4)) == "2027-W01"


def test_refusal_says_why() -> None:
    rule = parse_program(PROGRAM).engagement_rule("review_written")
    assert rule is not None
    now = dt.datetime(2026, 12, 9, tzinfo=dt.UTC)
    week_ago = now - dt.timedelta(days=7)
    assert refusal(rule, week_ago, now, 0) is None
    assert refusal(rule, week_ago + dt.timedelta(seconds=1), now, 0) == (
        "account_too_young", {"action": "review_written", "minimum": 7, "n": 6})  # fmt: skip
    assert refusal(rule, None, now, 0) is not None  # an account of unknown age is not old
    assert refusal(rule, week_ago, now, 2) is None
    capped = {"action": "review_written", "limit": 3, "period": "month"}
    assert refusal(rule, week_ago, now, 3) == ("engagement_capped", capped)
