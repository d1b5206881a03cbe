from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.errors import BadInput
from loyalty.money import format_plain, parse_amount


@pytest.mark.parametrize(
    ("text", "digits", "minor"),
    [
        ("12.50", 2, 1250),
        ("12,5", 2, 1250),
        ("0.01", 2, 1),
        ("7", 2, 700),
        ("-3.20", 2, -320),
        ("1500", 0, 1500),
        ("1.234", 3, 1234),
        (" 12.50 ", 2, 1250),
    ],
)
def test_amounts_parse_exactly(text: str, digits: int, minor: int) -> None:
    assert parse_amount(text, digits) == minor


@pytest.mark.parametrize("text", ["", "abc", "1e3", "NaN", "12.5.0", "1,000.00", "--1", "½"])
def test_non_amounts_are_refused(text: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_amount(text, 2)
    assert info.value.code == "malformed_amount"


def test_more_precision_than_the_currency_is_refused_not_rounded() -> None:
    with pytest.raises(BadInput) as info:
        parse_amount("12.345", 2)
    assert info.value.code == "amount_too_precise"


def test_persian_and_arabic_digits_typed_at_the_till_are_amounts() -> None:
    assert parse_amount("۱۲٫۵۰", 2) == 1250
    assert parse_amount("١٢", 2) == 1200


@given(st.integers(min_value=-(10**14), max_value=10**14), st.sampled_from([0, 2, 3]))
def test_format_and_parse_round_trip(minor: int, digits: int) -> None:
    assert parse_amount(format_plain(minor, digits), digits) == minor
