"""Head office's authoritative account of a member, as a pure function of the program, the
member's stored entries (in head office's arrival order) and the time.

- Earnings (earn, bonus) are *lots*: pending for the program's return window, then spendable,
  then expired per the expiry policy. Other credits (adjust, a reversal that gives redeemed
  points back) are spendable at once and expire like earnings.
- Debits (redeem, donate, negative adjust or reverse, expire) use the oldest lots first. A
  reversal of an earning takes its points out of that earning's own lot first.
- When the lots cannot cover a debit, the rest is an overdraft: it is recorded (the balance goes
  below zero, ``overdrawn`` is set) and later credits pay it off first. Head office never rejects
  a completed sale.
- Tier: qualifying spend (the ``base`` earn lines' eligible spend) or points over the program's
  window (this calendar year in the program's time zone, or the last ``window_days``).

Entry times are the till's ``occurred_at``, never later than head office received it (a till
clock running fast cannot delay its own points); order is head office's, never the till's clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from loyalty.db import from_text, to_text
from loyalty.program import Program

EARNING_KINDS = ("earn", "bonus")


@dataclass(frozen=True, slots=True)
class StoredEntry:
    entry_id: str
    kind: str
    points: int
    amount_minor: int
    reverses: str | None
    reason: str
    occurred_at: str
    received_at: str


@dataclass(frozen=True, slots=True)
class Account:
    balance: int  # spendable now; negative when overdrawn
    pending: tuple[tuple[int, str], ...]  # (points, release time), soonest first
    tier_id: str | None
    tier_progress: int
    expiring_points: int
    expiring_at: str | None
    has_purchased: bool
    overdrawn: bool


@dataclass(slots=True)
class _Lot:
    entry_id: str
    points: int
    release_at: dt.datetime
    expires_at: dt.datetime | None


def expiry_of(program: Program | None, earned: dt.datetime) -> dt.datetime | None:
    if program is None or program.expiry.policy == "never":
        return None
    local = earned.astimezone(program.timezone)
    if program.expiry.policy == "after_months":
        month = local.month - 1 + program.expiry.months
        year, month = local.year + month // 12, month % 12 + 1
        day = min(local.day, 28)
        return dt.datetime(year, month, day, tzinfo=program.timezone).astimezone(dt.UTC)
    # end_of_period: at the end of the `periods`-th period after the one it was earned in
    # (year, periods=1: earned in 2026, expires when 2027 ends).
    if program.expiry.period == "year":
        start = dt.datetime(local.year + program.expiry.periods + 1, 1, 1, tzinfo=program.timezone)
    else:
        quarter = (local.month - 1) // 3 + program.expiry.periods + 1
        year = local.year + quarter // 4
        start = dt.datetime(year, (quarter % 4) * 3 + 1, 1, tzinfo=program.timezone)
    return start.astimezone(dt.UTC)


def _when(e: StoredEntry) -> dt.datetime:
    return min(from_text(e.occurred_at), from_text(e.received_at))


def compute(program: Program | None, entries: Sequence[StoredEntry], now: dt.datetime) -> Account:
    hold = dt.timedelta(days=program.pending_days if program else 0)
    lots: list[_Lot] = []
    by_id: dict[str, _Lot] = {}
    debt = 0
    purchased = False
    qualifying = 0
    window_start = _window_start(program, now)
    measure = program.tier_rule.measure if program else "spend"
    earnings: set[str] = set()
    for e in entries:
        when = _when(e)
        if e.kind == "earn":
            purchased = True
        if window_start is not None and when >= window_start:
            if measure == "spend" and e.kind == "earn" and e.reason == "base":
                qualifying += e.amount_minor
            elif measure == "points" and (
                e.kind in EARNING_KINDS or (e.kind == "reverse" and e.reverses in earnings)
            ):
                qualifying += e.points
        if e.kind in EARNING_KINDS:
            earnings.add(e.entry_id)
        if e.points > 0:
            release = when + hold if e.kind in EARNING_KINDS else when
            lot = _Lot(e.entry_id, e.points, release, expiry_of(program, when))
            paid = min(debt, lot.points)
            debt -= paid
            lot.points -= paid
            lots.append(lot)
            by_id[e.entry_id] = lot
        elif e.points < 0:
            need = -e.points
            own = by_id.get(e.reverses or "")
            if own is not None and own.points > 0:
                take = min(own.points, need)
                own.points -= take
                need -= take
            for lot in sorted(lots, key=_lot_order):
                if need == 0:
                    break
                if lot.points <= 0 or (lot.expires_at is not None and lot.expires_at <= when):
                    continue
                take = min(lot.points, need)
                lot.points -= take
                need -= take
            debt += need
    spendable = 0
    pending: list[tuple[int, dt.datetime]] = []
    expiring: dict[dt.datetime, int] = {}
    for lot in lots:
        if lot.points <= 0 or (lot.expires_at is not None and lot.expires_at <= now):
            continue
        if lot.release_at > now:
            pending.append((lot.points, lot.release_at))
        else:
            spendable += lot.points
        if lot.expires_at is not None:
            expiring[lot.expires_at] = expiring.get(lot.expires_at, 0) + lot.points
    first_expiry = min(expiring) if expiring else None
    pending.sort(key=lambda p: p[1])
    tier_id = None
    if program is not None:
        tier_id = program.tiers[0].id
        for tier in program.tiers:
            if tier.threshold <= qualifying:
                tier_id = tier.id
    return Account(
        balance=spendable - debt,
        pending=tuple((p, to_text(t)) for p, t in pending),
        tier_id=tier_id,
        tier_progress=qualifying,
        expiring_points=expiring[first_expiry] if first_expiry else 0,
        expiring_at=to_text(first_expiry) if first_expiry else None,
        has_purchased=purchased,
        overdrawn=debt > 0,
    )


def _lot_order(lot: _Lot) -> tuple[dt.datetime, dt.datetime]:
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return (lot.expires_at or far, lot.release_at)


def _window_start(program: Program | None, now: dt.datetime) -> dt.datetime | None:
    if program is None:
        return None
    if program.tier_rule.window == "calendar_year":
        year = now.astimezone(program.timezone).year
        return dt.datetime(year, 1, 1, tzinfo=program.timezone).astimezone(dt.UTC)
    return now - dt.timedelta(days=program.tier_rule.window_days)
