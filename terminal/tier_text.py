"""The next tier and what is still needed to reach it, worded once for every surface
(receipt, member panel, shopper display)."""

from __future__ import annotations

from loyalty.balance import Balance
from loyalty.program import Program, localised
from terminal.i18n import Translator


def next_tier(t: Translator, program: Program, b: Balance, lang: str) -> tuple[str, str] | None:
    """(the next tier's name, the spend or points still needed) in ``t``'s language; None when
    the member is already in the top tier."""
    if not b.next_tier_id:
        return None
    name = localised(program.tier(b.next_tier_id).name, lang)
    if program.tier_rule.measure == "spend":
        return name, t.money(b.to_next_tier, program.currency)
    return name, t.number(b.to_next_tier)
