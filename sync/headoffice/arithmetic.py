"""Whether an entry's points can follow from the program for its amount and kind: head office
holds (does not credit) an entry that cannot, however sound its hash chain. A dishonest till
that rewrites its own ledger and its hashes still cannot invent points.

The bound is generous on purpose (the entry may be from an older program version, a tier the
member reached offline, promotions that stack): twice the most the program could pay, plus
one point for rounding. Anything beyond that is not a rounding question."""

from __future__ import annotations

from loyalty.program import Program
from sync import protocol as p
from sync.headoffice.referrals import BONUS_REASON as REFERRAL

TOLERANCE_PERCENT = 200


_rates: dict[tuple[str, int], tuple[int, int]] = {}


def _rate(program: Program) -> tuple[int, int]:
    """(the most points per ``per_minor * 100`` minor units, every bonus summed), worked out
    once per program (a push checks thousands of entries against one program)."""
    key = (program.version, id(program))
    if key not in _rates:
        rate = program.earn.points * max([100, *(t.multiplier_percent for t in program.tiers)])
        for promo in program.promotions:
            if promo.kind == "multiplier":
                rate = rate * max(100, promo.multiplier_percent) // 100
        bonuses = sum(promo.bonus_points for promo in program.promotions if promo.kind == "bonus")
        if len(_rates) > 64:
            _rates.clear()
        _rates[key] = (rate, bonuses)
    return _rates[key]


def most_points(program: Program, amount_minor: int) -> int:
    """The most points the program could give one earn or bonus entry for ``amount_minor``."""
    rate, bonuses = _rate(program)
    base = max(0, amount_minor) * rate // (program.earn.per_minor * 100)
    return (base + bonuses) * TOLERANCE_PERCENT // 100 + 1


def beyond_program(program: Program, e: p.WireEntry) -> bool:
    """True when the entry's points cannot follow from ``program`` for its amount and kind."""
    if abs(e.points) > program.limits.max_entry_points:
        return True
    if e.reason.startswith(f"{REFERRAL}:"):  # only head office pays a referral, never a till
        return True
    if e.kind == "bonus" and e.reason.startswith("offer:"):
        # A personal offer is not in the program: head office checks its use against the
        # offer itself and takes back what it cannot pay (offer_uses.py).
        return e.points < 0
    if e.kind in ("earn", "bonus"):
        return not 0 <= e.points <= most_points(program, e.amount_minor)
    if e.kind in ("redeem", "donate", "expire"):
        return e.points > 0
    return False
