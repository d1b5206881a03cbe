"""The wire answers of referrals (sync/headoffice/referrals.py): head office's listing of the
referrals it holds and what became of each. Answers are tolerant, as in sync/protocol.py."""

from __future__ import annotations

from msgspec import Struct


class _Answer(Struct, gc=False):
    pass


class ReferralRow(_Answer):
    """What became of a new member's referral (sync/headoffice/referrals.py): ``pending``
    until their first qualifying purchase, then ``credited``, or ``refused`` with a reason
    (``referral_unknown_code``, ``_self``, ``_same_phone``, ``_loop``, ``_existing_member``,
    ``_capped``). ``source``: the till that enrolled them, or ``admin``."""

    member_id: str
    code: str
    referrer_id: str | None
    status: str
    reason: str
    source: str
    created_at: str
    decided_at: str | None = None


class ReferralsAnswer(_Answer):
    referrals: list[ReferralRow]
