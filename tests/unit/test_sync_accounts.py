"""Head office's account arithmetic: pending release, overdraft offset, expiry, tiers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.db import from_text, to_text
from loyalty.program import parse_program
from sync.headoffice.accounts import (
    AccountState,
    StoredEntry,
    compute,
    expiry_of,
    fold,
    prune,
    settle,
    summarize,
)

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = parse_program((ROOT / "fixtures" / "program.toml").read_text(), "program")
T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)


def entry(n: int, kind: str, points: int, when: dt.datetime = T0, **kw: object) -> StoredEntry:
    fields: dict[str, object] = {"amount_minor": 0, "reverses": None, "reason": ""}
    fields.update(kw)
    return StoredEntry(f"e{n}", kind, points, occurred_at=to_text(when),
                       received_at=to_text(when), **fields)  # type: ignore[arg-type]  # fmt: skip


def test_earnings_are_pending_for_the_return_window_then_spendable() -> None:
    entries = [entry(1, "earn", 40, amount_minor=4000, reason="base")]
    during = compute(PROGRAM, entries, T0 + dt.timedelta(days=13))
    assert (during.balance, during.pending[0][0]) == (0, 40)
    after = compute(PROGRAM, entries, T0 + dt.timedelta(days=15))
    assert (after.balance, after.pending) == (40, ())


def test_an_overdraft_is_kept_and_paid_off_by_later_credits() -> None:
    entries = [entry(1, "adjust", 100), entry(2, "redeem", -250), entry(3, "redeem", -50)]
    account = compute(PROGRAM, entries, T0)
    assert (account.balance, account.overdrawn) == (-200, True)
    account = compute(PROGRAM, [*entries, entry(4, "adjust", 300)], T0)
    assert (account.balance, account.overdrawn) == (100, False)


def test_a_reversal_takes_its_own_earnings_back_first() -> None:
    entries = [
        entry(1, "adjust", 100),
        entry(2, "earn", 30, amount_minor=3000, reason="base"),
        entry(3, "reverse", -30, reverses="e2"),
    ]
    account = compute(PROGRAM, entries, T0 + dt.timedelta(days=1))
    assert (account.balance, account.pending) == (100, ())


def test_points_expire_at_the_end_of_the_year_after_they_were_earned() -> None:
    assert expiry_of(PROGRAM, T0) == dt.datetime(2027, 12, 31, 22, 0, tzinfo=dt.UTC)
    entries = [entry(1, "adjust", 100)]
    assert compute(PROGRAM, entries, dt.datetime(2027, 6, 1, tzinfo=dt.UTC)).balance == 100
    gone = compute(PROGRAM, entries, dt.datetime(2028, 1, 2, tzinfo=dt.UTC))
    assert (gone.balance, gone.expiring_points) == (0, 0)


def test_tier_follows_this_years_qualifying_spend() -> None:
    big = entry(1, "earn", 600, amount_minor=60000, reason="base")
    assert compute(PROGRAM, [big], T0).tier_id == "oak"
    next_year = dt.datetime(2027, 2, 1, tzinfo=dt.UTC)
    assert compute(PROGRAM, [big], next_year).tier_id == "olive"


KINDS = st.sampled_from(["earn", "bonus", "redeem", "adjust+", "adjust-", "reverse", "donate"])


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.tuples(KINDS, st.integers(1, 400), st.integers(0, 60 * 24 * 30), st.integers(0, 3)),
        max_size=40,
    ),
    chunk=st.integers(1, 7),
    later=st.integers(0, 90),
)
def test_incremental_accounts_agree_with_recomputing_from_the_whole_history(
    steps: list[tuple[str, int, int, int]], chunk: int, later: int
) -> None:
    """Head office folds each batch onto a kept state; the result must be what reading the
    member's whole history gives, whatever the batches were."""
    entries: list[StoredEntry] = []
    earned: list[str] = []
    for n, (kind, points, minutes, delay_days) in enumerate(steps):
        received = T0 + dt.timedelta(minutes=minutes + n)
        occurred = received - dt.timedelta(days=delay_days)
        name, sign = (
            kind.rstrip("+-"),
            (-1 if kind.endswith("-") or kind in ("redeem", "donate") else 1),
        )
        reverses = None
        if name == "reverse":
            if not earned:
                continue
            reverses, sign = earned[points % len(earned)], -1
        e = StoredEntry(f"e{n}", name, sign * points, points * 100 if name == "earn" else 0,
                        reverses, "base" if name == "earn" else "", to_text(occurred),
                        to_text(received))  # fmt: skip
        if name in ("earn", "bonus"):
            earned.append(e.entry_id)
        entries.append(e)
    state, settled = AccountState(), AccountState()
    for i in range(0, len(entries), chunk):
        batch = entries[i : i + chunk]
        at = from_text(max(e.received_at for e in batch))
        fold(PROGRAM, state, batch)
        prune(state, at)
        # A push's one pass: the same state, and the account the three steps give.
        assert settle(PROGRAM, settled, batch, at) == summarize(PROGRAM, state, at)
        assert settled == state
    now = from_text(entries[-1].received_at) if entries else T0
    now += dt.timedelta(days=later)
    assert summarize(PROGRAM, state, now) == compute(PROGRAM, entries, now)
    assert settle(PROGRAM, settled, [], now) == compute(PROGRAM, entries, now)
