"""Worked examples a shop manager can check by hand against fixtures/program.toml:
1 point per EUR 1 of eligible spend (rounded down), tobacco and gift cards excluded, Oak earns
1.25x, Laurel 1.5x, double points on Tuesdays (not stackable), +50 for EUR 20 of fresh produce,
+200 around the birthday, +100 on the first purchase."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from loyalty.errors import Refused
from loyalty.program import load_program
from loyalty.rules import (
    BasketLine,
    MemberContext,
    birthday_near,
    earn,
    once_key,
    points_for,
    price,
    reversal,
    total_only,
)

PROGRAM = load_program(str(Path(__file__).resolve().parents[2] / "fixtures" / "program.toml"))
WEDNESDAY = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
TUESDAY = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)
REGULAR = MemberContext("olive", None, has_purchased=True)


def reasons(lines: tuple) -> dict[str, int]:  # type: ignore[type-arg]
    return {line.reason: line.points for line in lines}


def test_a_plain_basket_earns_one_point_per_euro_rounded_down() -> None:
    basket = [BasketLine("BREAD", "bakery", 1299)]
    assert reasons(earn(PROGRAM, basket, 1299, REGULAR, WEDNESDAY)) == {"base": 12}


def test_excluded_categories_earn_nothing() -> None:
    basket = [
        BasketLine("CIG", "tobacco", 700),
        BasketLine("GIFT", "gift_card", 5000),
        BasketLine("OIL", "pantry", 1000),
    ]
    assert reasons(earn(PROGRAM, basket, 6700, REGULAR, WEDNESDAY)) == {"base": 10}


def test_oak_earns_a_quarter_more_and_the_bonus_is_its_own_line() -> None:
    oak = MemberContext("oak", None, True)
    basket = [BasketLine("CHEESE", "deli", 4000)]
    assert reasons(earn(PROGRAM, basket, 4000, oak, WEDNESDAY)) == {"base": 40, "tier:oak": 10}


def test_tuesday_doubles_and_fresh_bonus_stacks_on_top() -> None:
    basket = [BasketLine("TOM", "fresh", 2500), BasketLine("CIG", "tobacco", 700)]
    got = reasons(earn(PROGRAM, basket, 3200, REGULAR, TUESDAY))
    assert got == {"base": 25, "promo:double-tuesday": 25, "promo:fresh-bonus": 50}


def test_fresh_bonus_needs_twenty_euros_of_fresh_produce() -> None:
    basket = [BasketLine("TOM", "fresh", 1999), BasketLine("OIL", "pantry", 5000)]
    assert "promo:fresh-bonus" not in reasons(earn(PROGRAM, basket, 6999, REGULAR, WEDNESDAY))


def test_first_purchase_and_birthday_bonuses() -> None:
    newcomer = MemberContext("olive", "11-27", has_purchased=False)
    got = reasons(earn(PROGRAM, [BasketLine("X", "deli", 1000)], 1000, newcomer, WEDNESDAY))
    assert got == {"base": 10, "promo:welcome": 100, "promo:birthday": 200}


def test_a_once_only_promotion_already_paid_is_not_paid_again() -> None:
    basket = [BasketLine("X", "deli", 1000)]
    paid = MemberContext("olive", "11-27", False, frozenset({"welcome", "birthday:2026"}))
    assert reasons(earn(PROGRAM, basket, 1000, paid, WEDNESDAY)) == {"base": 10}
    last_year = MemberContext("olive", "11-27", True, frozenset({"birthday:2025"}))
    assert reasons(earn(PROGRAM, basket, 1000, last_year, WEDNESDAY))["promo:birthday"] == 200


@pytest.mark.parametrize(
    ("birthday", "day", "key"),
    [
        ("11-27", dt.date(2026, 11, 25), "birthday:2026"),
        ("01-01", dt.date(2026, 12, 30), "birthday:2027"),  # the new year's birthday
        ("12-31", dt.date(2027, 1, 2), "birthday:2026"),
        ("02-29", dt.date(2027, 2, 28), "birthday:2027"),
    ],
)
def test_a_birthday_bonus_belongs_to_the_birthday_its_window_matched(
    birthday: str, day: dt.date, key: str
) -> None:
    promo = PROGRAM.promotion("birthday")
    assert promo is not None
    assert once_key(promo, day, birthday) == key
    welcome = PROGRAM.promotion("welcome")
    assert welcome is not None and once_key(welcome, day, birthday) == "welcome"
    fresh = PROGRAM.promotion("fresh-bonus")
    assert fresh is not None and once_key(fresh, day, birthday) is None


def test_promotions_keep_to_their_dates() -> None:
    after_the_end = dt.datetime(2028, 1, 4, 10, tzinfo=dt.UTC)  # a Tuesday after 2027-12-31
    got = reasons(earn(PROGRAM, [BasketLine("X", "deli", 1000)], 1000, REGULAR, after_the_end))
    assert got == {"base": 10}


def test_the_shops_local_date_decides_the_weekday() -> None:
    # 22:30 UTC on Monday is 00:30 on Tuesday in Athens: double points apply.
    late_monday_utc = dt.datetime(2026, 11, 23, 22, 30, tzinfo=dt.UTC)
    got = reasons(earn(PROGRAM, [BasketLine("X", "deli", 1000)], 1000, REGULAR, late_monday_utc))
    assert got["promo:double-tuesday"] == 10


def test_points_are_earned_on_what_was_paid_in_money() -> None:
    basket = [BasketLine("WINE", "drinks", 6000)]
    pricing = price(PROGRAM, basket, "twenty-off", 0, "olive")
    assert (pricing.discount_minor, pricing.paid_minor) == (2000, 4000)
    assert reasons(earn(PROGRAM, basket, pricing.paid_minor, REGULAR, WEDNESDAY)) == {"base": 40}


def test_half_up_rounding() -> None:
    half_up = dataclasses.replace(
        PROGRAM, earn=dataclasses.replace(PROGRAM.earn, rounding="half_up")
    )
    assert points_for(half_up, 1249) == 12
    assert points_for(half_up, 1250) == 13
    assert points_for(half_up, 0) == 0
    assert points_for(PROGRAM, 1299) == 12


def test_percent_reward_is_capped_and_for_oak_and_laurel_only() -> None:
    basket = [BasketLine("HAM", "deli", 50000)]
    assert price(PROGRAM, basket, "ten-percent", 0, "oak").discount_minor == 3000  # cap, not 5000
    with pytest.raises(Refused) as info:
        price(PROGRAM, basket, "ten-percent", 0, "olive")
    assert info.value.code == "reward_not_for_tier"


def test_fixed_reward_needs_its_minimum_basket() -> None:
    with pytest.raises(Refused) as info:
        price(PROGRAM, [BasketLine("X", "deli", 1499)], "five-off", 0, "olive")
    assert info.value.code == "basket_below_reward_minimum"
    assert info.value.params["minimum_minor"] == 1500


def test_free_item_needs_the_item_in_a_detailed_basket() -> None:
    with pytest.raises(Refused) as info:
        price(
            PROGRAM,
            [BasketLine("A", "deli", 100), BasketLine("B", "deli", 100)],
            "coffee",
            0,
            "olive",
        )
    assert info.value.code == "reward_item_not_in_basket"
    basket = [BasketLine("CAFE-001", "cafe", 280), BasketLine("B", "deli", 1000)]
    assert price(PROGRAM, basket, "coffee", 0, "olive").discount_minor == 280


def test_free_item_in_a_one_line_basket_must_be_that_item() -> None:
    with pytest.raises(Refused) as info:
        price(PROGRAM, [BasketLine("OIL", "pantry", 2000)], "coffee", 0, "olive")
    assert info.value.code == "reward_item_not_in_basket"
    one = [BasketLine("CAFE-001", "cafe", 280)]
    assert price(PROGRAM, one, "coffee", 0, "olive").discount_minor == 280
    # A basket keyed as its total alone names no item: the cashier or the POS vouches for it.
    assert price(PROGRAM, [total_only(2000)], "coffee", 0, "olive").discount_minor == 280


def test_donation_takes_points_but_nothing_off_the_basket() -> None:
    pricing = price(PROGRAM, [BasketLine("X", "deli", 1000)], "food-bank", 0, "olive")
    assert (pricing.discount_minor, pricing.donation_minor, pricing.paid_minor) == (0, 200, 1000)
    assert pricing.redeemed_points == 200


@pytest.mark.parametrize(
    ("points", "total", "code"),
    [
        (400, 10000, "points_payment_below_minimum"),
        (5100, 100000, "points_payment_above_maximum"),
        (550, 10000, "points_payment_not_a_multiple"),
        (600, 1000, "points_payment_above_share"),
    ],
)
def test_points_as_payment_limits(points: int, total: int, code: str) -> None:
    with pytest.raises(Refused) as info:
        price(PROGRAM, [BasketLine("X", "deli", total)], None, points, "olive")
    assert info.value.code == code


def test_points_as_payment_pays_one_euro_per_hundred_points() -> None:
    pricing = price(PROGRAM, [BasketLine("X", "deli", 3000)], None, 1500, "olive")
    assert (pricing.payment_minor, pricing.paid_minor) == (1500, 1500)


@pytest.mark.parametrize(
    ("birthday", "today", "window", "expected"),
    [
        ("03-14", dt.date(2026, 3, 14), 0, True),
        ("03-14", dt.date(2026, 3, 17), 3, True),
        ("03-14", dt.date(2026, 3, 18), 3, False),
        ("12-31", dt.date(2027, 1, 2), 3, True),
        ("01-01", dt.date(2026, 12, 30), 3, True),
        ("02-29", dt.date(2027, 2, 28), 0, True),
        ("13-40", dt.date(2026, 1, 1), 3, False),
        (None, dt.date(2026, 1, 1), 3, False),
    ],
)
def test_birthday_window(birthday: str | None, today: dt.date, window: int, expected: bool) -> None:
    assert birthday_near(birthday, today, window) is expected


def test_partial_refunds_reverse_in_proportion_and_never_more_than_earned() -> None:
    # 25 points on EUR 25; refund EUR 10, then EUR 10, then the last EUR 5.
    first = reversal(25, 0, 1000, 2500)
    second = reversal(25, first, 2000, 2500)
    third = reversal(25, first + second, 2500, 2500)
    assert (first, second, third) == (10, 10, 5)
    assert reversal(25, 25, 2500, 2500) == 0
