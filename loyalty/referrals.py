"""Referral codes and the program's referral rules.

Every member has a short referral code, given where the member is created (the till that
enrols them, or head office for a member it creates or one from before codes existed) and held
unique by head office. A code is eight characters, printed as two groups of four ("K7QM-4XR5"):
seven random symbols and a check symbol, from an alphabet of 30 that leaves out what is misread
aloud or on paper (0 O 1 I L U). The check symbol is Luhn mod 30 (python-stdnum): it catches
every single mistyped symbol and all but 2 of the 870 swaps of two neighbours, so a cashier's
typo is refused at the till instead of crediting a stranger. The symbols are random
(``secrets``), not derived from the member id or card number, so knowing one code or a card
says nothing of another: 30**7 (about 2e10) codes among a million members, one guess in
about 22,000 names anyone.

A new member enrolled with someone's code is credited, with the referrer, once, after their
first qualifying purchase; head office decides it (sync/headoffice/referrals.py), with the rules
read here from the program's ``[referrals]`` table.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from stdnum import luhn

from loyalty.errors import BadInput

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY = 7  # random symbols; one check symbol follows
LENGTH = BODY + 1
CODE = re.compile(rf"^[{ALPHABET}]{{{LENGTH}}}\Z")
_SEPARATORS = re.compile(r"[\s\-_.]")


def new_code() -> str:
    """A fresh random code with its check symbol (stored without the dash)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY))
    return body + luhn.calc_check_digit(body, ALPHABET)


def is_code(code: str) -> bool:
    """Well-formed and its check symbol right (a stored code, already normalised)."""
    return bool(CODE.match(code)) and luhn.checksum(code, ALPHABET) == 0


def check_code(text: str) -> str:
    """A code as a cashier or a shopper typed it ("k7qm 4xr5", "K7QM-4XR5"): normalised, or
    ``referral_code_mistyped`` when a symbol is not in the alphabet, the length is wrong or the
    check symbol does not match."""
    code = _SEPARATORS.sub("", text or "").upper()
    if len(code) > 2 * LENGTH or not is_code(code):
        raise BadInput("referral_code_mistyped")
    return code


def shown(code: str) -> str:
    """The code as printed and displayed: two groups of four."""
    return f"{code[:4]}-{code[4:]}" if len(code) == LENGTH else code


@dataclass(frozen=True, slots=True)
class ReferralRules:
    """The program's ``[referrals]``: what a referral pays, when, and how often."""

    referrer_points: int  # to the member whose code was used
    member_points: int  # to the new member
    min_spend_minor: int  # the new member's first purchase of at least this much qualifies
    monthly_cap: int  # referrals credited per referrer per calendar month (shop time)


class _FieldReader(Protocol):
    def integer(
        self, field: str, default: int | None = None, minimum: int = 0, maximum: int = ...
    ) -> int: ...

    def fail(self, field: str, problem: str, **params: Any) -> Exception: ...


def read_rules(r: _FieldReader) -> ReferralRules:
    """``[referrals]`` of a program. Every field is required: a referral program without a
    monthly cap is how one account farms points through invented friends."""
    rules = ReferralRules(
        referrer_points=r.integer("referrer_points"),
        member_points=r.integer("member_points"),
        min_spend_minor=r.integer("min_spend_minor"),
        monthly_cap=r.integer("monthly_cap", minimum=1, maximum=10_000),
    )
    if rules.referrer_points + rules.member_points == 0:
        raise r.fail("referrer_points", "below_minimum", minimum=1, value=0)
    return rules
