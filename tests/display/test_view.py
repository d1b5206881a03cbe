"""What the shopper's display may hold is a property of its types: whatever a view is built
from, it holds no phone, no full card number, no markup-bending characters, no over-long text,
and of a member only the first name."""

from __future__ import annotations

import dataclasses
import re

from hypothesis import given
from hypothesis import strategies as st

from display.text import LONGEST_DIGIT_RUN, MASK, NAME_LIMIT, TEXT_LIMIT, clean, first_name
from display.view import (
    BasketPart,
    Figure,
    MemberCard,
    RewardRow,
    SaleEnd,
    ShopperView,
    decode,
    encode,
)

DIGIT_RUN = re.compile(r"\d(?:[\s.\-/()+]*\d)*")
PHONES = ["+30 694 000 0001", "+48 600-000-002", "(0721) 000.003", "۰۹۱۲۳۴۵۶۷۸۹"]
CARD = "400000000002"


def longest_digit_run(text: str) -> int:
    return max((sum(c.isdigit() for c in m.group()) for m in DIGIT_RUN.finditer(text)), default=0)


def every_text(view: object) -> list[str]:
    """Every string a view holds, however deep."""
    found: list[str] = []
    if isinstance(view, str):
        found.append(view)
    elif isinstance(view, tuple):
        for item in view:
            found += every_text(item)
    elif dataclasses.is_dataclass(view):
        for f in dataclasses.fields(view):
            found += every_text(getattr(view, f.name))
    return found


def member_view(name: str, text: str) -> ShopperView:
    card = MemberCard(name, f"Hello, {name}", text, text, 50, (Figure(text, text),))
    basket = BasketPart(text, (Figure(text, text),), Figure(text, text), text,
                        (RewardRow(text, text, True, True),))  # fmt: skip
    end = SaleEnd(text, (Figure(text, text),), "https://app.example/me", text)
    return ShopperView("done", "en", "ltr", text, text, card, basket, end, 5)


def test_no_field_could_hold_a_phone_a_card_or_a_member_id() -> None:
    names: set[str] = set()
    for cls in (ShopperView, MemberCard, BasketPart, SaleEnd, Figure, RewardRow):
        names |= {f.name for f in dataclasses.fields(cls)}
    assert not {n for n in names if re.search("phone|card_number|member_id|email|birth", n)}


def test_phones_and_card_numbers_are_masked_wherever_they_are_put() -> None:
    for secret in [*PHONES, CARD]:
        view = member_view(f"Anna {secret}", f"call {secret} now")
        for text in every_text(view):
            assert longest_digit_run(text) <= LONGEST_DIGIT_RUN, text
        assert MASK in view.headline


def test_balances_and_dates_are_not_masked() -> None:
    for text in ["1,250", "12 350", "۱٬۲۵۰", "31.12.2026", "€1,234.56", "Points: 99 999 999"]:
        assert clean(text) == text


def test_a_member_is_shown_by_first_name_only() -> None:
    card = MemberCard("Eleni Georgiou", "Hello, Eleni", "Olive")
    assert card.first_name == "Eleni"
    assert first_name("  \u202eEleni\u202c  Georgiou") == "Eleni"
    assert first_name("") == ""


def test_hostile_names_lose_their_controls_and_their_length() -> None:
    name = "\u202e<script>alert(1)</script>\u2066" + "x" * 10_000
    card = MemberCard(name, name, name)
    assert len(card.first_name) <= NAME_LIMIT
    assert len(card.greeting) <= TEXT_LIMIT
    assert card.first_name.startswith("<script>")  # text, shown as text by the page
    for text in every_text(card):
        assert not set(text) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
        assert "\n" not in text and "\x00" not in text


def test_a_status_link_is_a_web_address_or_nothing() -> None:
    assert SaleEnd("Thanks", (), "javascript:alert(1)").qr_url == ""
    assert SaleEnd("Thanks", (), "https://app.example/me").qr_url == "https://app.example/me"


def test_a_view_survives_its_json_and_is_cleaned_again_on_the_way_in() -> None:
    view = member_view("Ioana Ionescu", "Points: 1 250")
    assert decode(encode(view)) == view
    forged = encode(view).replace(b"Points: 1 250", b"+40 721 000 003")
    assert MASK in decode(forged).headline


@given(st.text(max_size=400), st.text(max_size=60))
def test_any_text_comes_out_safe(text: str, name: str) -> None:
    view = member_view(name, text)
    for shown in every_text(view):
        assert longest_digit_run(shown) <= LONGEST_DIGIT_RUN
        assert len(shown) <= max(TEXT_LIMIT, 300)
        assert not any(0xD800 <= ord(c) <= 0xDFFF for c in shown)
    assert view.member is not None and " " not in view.member.first_name
