"""Referral codes (loyalty/referrals.py) and where a member sees theirs: the code's check
symbol catches a cashier's typo, the enrolment slip prints it in the member's language, the
shopper display shows it."""

from __future__ import annotations

import itertools

import pytest

from loyalty import referrals
from loyalty.errors import BadInput
from loyalty.till import Till
from printer import Row
from terminal import shopper_views as views
from terminal.i18n import LANGUAGES, translator
from terminal.receipts import Shop, from_enrolment
from tests.conftest import NOW


def test_fresh_codes_are_well_formed_distinct_and_read_back_however_typed() -> None:
    made = {referrals.new_code() for _ in range(2000)}
    assert len(made) == 2000
    for code in itertools.islice(made, 50):
        assert referrals.is_code(code) and not set(code) & set("01OILU")
        shown = referrals.shown(code)
        for typed in (shown, shown.lower(), f" {code[:4]} {code[4:]} ", code):
            assert referrals.check_code(typed) == code


def test_every_single_typo_and_nearly_every_swap_is_caught() -> None:
    code = referrals.new_code()
    for i, c in itertools.product(range(referrals.LENGTH), referrals.ALPHABET):
        if c != code[i]:
            with pytest.raises(BadInput) as refused:
                referrals.check_code(code[:i] + c + code[i + 1 :])
            assert refused.value.code == "referral_code_mistyped"
    for wrong in ("", "0" + code[1:], code[:7], code + "2", "Ω" * 8, "x" * 10_000):
        with pytest.raises(BadInput):
            referrals.check_code(wrong)
    swaps = caught = 0
    for x, y in itertools.permutations(referrals.ALPHABET, 2):
        body = x + y + code[2:7]
        good = body + referrals.luhn.calc_check_digit(body, referrals.ALPHABET)
        swaps += 1
        caught += not referrals.is_code(y + x + good[2:])
    assert swaps - caught == 2  # 868 of the 870 swaps of two neighbours


def test_the_enrolment_slip_prints_the_code_in_every_language(till: Till) -> None:
    for lang in LANGUAGES:
        enrolment = till.enroll(f"Member {lang}", "anna", True, language=lang, now=NOW)
        code = enrolment.member.referral_code
        assert code is not None
        balance = till.balance(enrolment.member.member_id, NOW)
        slip = from_enrolment(enrolment, balance, "anna", till, Shop("Olive & Oak"), NOW)
        t = translator(lang)
        rows = [b for b in slip.blocks if isinstance(b, Row)]
        assert (t("receipt.referral_code"), referrals.shown(code)) in [
            (r.label, r.value) for r in rows
        ], lang


def test_the_shopper_display_shows_the_code_only_when_the_program_has_referrals(
    till: Till,
) -> None:
    enrolled = till.enroll("Piotr Nowak", "anna", True, language="pl", now=NOW).member
    code = enrolled.referral_code or ""
    balance = till.balance(enrolled.member_id, NOW)
    view = views.member(till.program, views.Shopper("pl", "Piotr Nowak", balance, (), code), NOW)
    assert view.member is not None
    assert ("Twój kod polecający", referrals.shown(code)) in [
        (f.label, f.value) for f in view.member.figures
    ]
    bare = views.member(till.program, views.Shopper("pl", "Piotr Nowak", balance), NOW)
    assert bare.member is not None
    assert all(f.label != "Twój kod polecający" for f in bare.member.figures)
