"""What each shop day of a rolling tier window contributed, in the member states head office
sends (``MemberState.tier_days``), so a till can age the tier on its own clock: each day leaves
the window at the shop's midnight, at the till as at head office (loyalty.tier_window).

Only for a program with a ``rolling`` window (a calendar-year window ages from the date alone):
for the others this reads nothing. The figures come from the account head office keeps
(``state_json``'s tier contributions), read after the account was written.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from loyalty import tier_window
from loyalty.db import from_text
from loyalty.program import Program
from sync import protocol as p
from sync.headoffice.accounts import load_state
from sync.headoffice.store import Tx


def with_tier_days(
    tx: Tx, program: Program | None, states: list[p.MemberState], now: dt.datetime
) -> list[p.MemberState]:
    """The states, each with its rolling window's day totals as of ``now``."""
    if program is None or program.tier_rule.window != "rolling" or not states:
        return states
    found: dict[str, str | None] = {}
    for where, params in tx.matching("member_id", [s.member_id for s in states]):
        found.update(tx.all(f"SELECT member_id, state_json FROM members WHERE {where}", params))
    out: list[p.MemberState] = []
    for s in states:
        state = load_state(found.get(s.member_id))
        contributions = [(from_text(c.at), c.amount) for c in state.qualifying]
        days = tier_window.day_totals(program, contributions, now)
        out.append(msgspec.structs.replace(s, tier_days=days) if days else s)
    return out
