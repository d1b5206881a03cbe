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
  window (this calendar year in the program's time zone, or the last ``window_days`` shop days:
  loyalty.tier_window).

Entry times are the till's ``occurred_at``, never later than head office received it (a till
clock running fast cannot delay its own points); order is head office's, never the till's clock.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from loyalty import tier_window
from loyalty.db import from_text
from loyalty.program import Program

T = TypeVar("T", dt.datetime, str)

EARNING_KINDS = ("earn", "bonus")


# Structs without garbage-collector tracking (gc=False): they hold values only, and a push
# makes one of each per entry and member (see sync.protocol's Request).
class StoredEntry(msgspec.Struct, frozen=True, gc=False):
    entry_id: str
    kind: str
    points: int
    amount_minor: int
    reverses: str | None
    reason: str
    occurred_at: str
    received_at: str


class Account(msgspec.Struct, frozen=True, gc=False):
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
    # Fixed-width UTC text sorts in time order: compare first, parse once.
    return from_text(min(e.occurred_at, e.received_at))


def _text(when: dt.datetime) -> str:
    """``loyalty.db.to_text`` for an aware UTC time, without strftime's cost."""
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


_EXPIRY: dict[tuple[str, str], dt.datetime | None] = {}


def _expiry_cached(program: Program, minute: str) -> dt.datetime | None:
    """Expiry depends on the local date only: cache it per program version and UTC minute."""
    key = (program.version, minute)
    if key not in _EXPIRY:
        if len(_EXPIRY) > 100_000:
            _EXPIRY.clear()
        _EXPIRY[key] = expiry_of(program, from_text(minute + ":00.000000Z"))
    return _EXPIRY[key]


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
    reverse_tier = _refund_reverses_tier(program)
    spends: dict[str, tuple[dt.datetime, int]] = {}  # base earnings: when, qualifying spend
    for e in entries:
        when = _when(e)
        if e.kind == "earn":
            purchased = True
        if measure == "spend" and e.kind == "earn" and e.reason == "base":
            spends[e.entry_id] = (when, e.amount_minor)
        elif measure == "spend" and reverse_tier and e.kind == "reverse" and e.reverses in spends:
            # A refund's spend counts in the window its sale counted in.
            at, amount = spends[e.reverses]  # type: ignore[index]
            if window_start is not None and at >= window_start:
                qualifying += _refunded_spend(e, amount)
        if window_start is not None and when >= window_start:
            if measure == "spend" and e.kind == "earn" and e.reason == "base":
                qualifying += e.amount_minor
            elif measure == "points" and (
                e.kind in EARNING_KINDS
                or (reverse_tier and e.kind == "reverse" and e.reverses in earnings)
            ):
                qualifying += e.points
        if e.kind in EARNING_KINDS:
            earnings.add(e.entry_id)
        if e.points > 0:
            release = when + hold if e.kind in EARNING_KINDS else when
            expires = (
                _expiry_cached(program, min(e.occurred_at, e.received_at)[:16]) if program else None
            )
            lot = _Lot(e.entry_id, e.points, release, expires)
            paid = min(debt, lot.points)
            debt -= paid
            lot.points -= paid
            lots.append(lot)
            by_id[e.entry_id] = lot
        elif e.kind == "expire" and e.points < 0:
            _take_expired(lots, -e.points, when)
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
    spendable, pending, expiring = _split_lots(lots, now)
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
        pending=tuple((p, _text(t)) for p, t in pending),
        tier_id=tier_id,
        tier_progress=qualifying,
        expiring_points=expiring[first_expiry] if first_expiry else 0,
        expiring_at=_text(first_expiry) if first_expiry else None,
        has_purchased=purchased,
        overdrawn=debt > 0,
    )


def _take_expired(lots: Sequence[Any], need: int, when: Any) -> None:
    """An ``expire`` entry (head office's expiry job) takes its points out of the lots that had
    expired by its time, which no balance counted any more: the ledger's sum then equals the
    balance, and nothing spendable changes. Never more than those lots held; never a debt."""
    for lot in sorted(lots, key=lambda x: (x.expires_at or _FAR_TIME[type(when)], x.release_at)):
        if need == 0:
            return
        if lot.points <= 0 or lot.expires_at is None or lot.expires_at > when:
            continue
        take = min(lot.points, need)
        lot.points -= take
        need -= take


def _refund_reverses_tier(program: Program | None) -> bool:
    return program is None or program.refund_qualifying == "reverse"


def _refunded_spend(e: StoredEntry, spend: int) -> int:
    """A refund's reversal of a base earning takes back its ``amount_minor`` (negative) of the
    qualifying spend, never more than the sale counted and never adding any."""
    return max(min(e.amount_minor, 0), -spend)


def _lot_order(lot: _Lot) -> tuple[dt.datetime, dt.datetime]:
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return (lot.expires_at or far, lot.release_at)


def _window_start(program: Program | None, now: dt.datetime) -> dt.datetime | None:
    """The tier window's first moment (loyalty.tier_window: whole shop days, as the tills)."""
    if program is None:
        return None
    return tier_window.window_start(program, now)


# -- the same account, kept incrementally ----------------------------------------------------
# ``compute`` above reads a member's whole history. Head office keeps instead, per member, the
# state that ``compute`` builds on the way (live lots, the debt, the tier's contributions) and
# folds each batch's new entries onto it, so a push costs what its own entries cost, whatever
# the member's history. Times stay the fixed-width UTC text, compared as strings.
# Differences from ``compute``, on purpose: a lot takes the program in force when head office
# received it (a later program does not rewrite old lots); spent lots, lots expired more than
# GRACE ago and tier contributions older than KEEP are dropped.

GRACE = dt.timedelta(days=31)
KEEP = dt.timedelta(days=400)
_FAR = "9999-12-31T23:59:59.999999Z"
_FAR_TIME: dict[type, Any] = {str: _FAR, dt.datetime: dt.datetime.max.replace(tzinfo=dt.UTC)}


class Lot(msgspec.Struct, array_like=True, gc=False):
    entry_id: str
    points: int
    release_at: str
    expires_at: str | None


class Contribution(msgspec.Struct, array_like=True, gc=False):
    entry_id: str
    at: str
    amount: int


class AccountState(msgspec.Struct, gc=False):
    lots: list[Lot] = msgspec.field(default_factory=list)
    debt: int = 0
    purchased: bool = False
    qualifying: list[Contribution] = msgspec.field(default_factory=list)


_state_decoder = msgspec.json.Decoder(AccountState)
_state_encoder = msgspec.json.Encoder()


def load_state(text: str | None) -> AccountState:
    return _state_decoder.decode(text) if text else AccountState()


def dump_state(state: AccountState) -> str:
    return _state_encoder.encode(state).decode()


@functools.lru_cache(maxsize=4096)
def _plus_days(date: str, days: int) -> str:
    return (dt.date.fromisoformat(date) + dt.timedelta(days=days)).isoformat()


def _release(when: str, days: int) -> str:
    # UTC has no daylight saving: adding days changes the date and keeps the time of day.
    return _plus_days(when[:10], days) + when[10:] if days else when


_EXPIRY_TEXT: dict[tuple[str, str], str | None] = {}


def _expires(program: Program | None, when: str) -> str | None:
    if program is None or program.expiry.policy == "never":
        return None
    key = (program.version, when[:16])
    if key not in _EXPIRY_TEXT:
        if len(_EXPIRY_TEXT) > 100_000:
            _EXPIRY_TEXT.clear()
        at = _expiry_cached(program, when[:16])
        _EXPIRY_TEXT[key] = _text(at) if at is not None else None
    return _EXPIRY_TEXT[key]


_MOMENTS: dict[tuple[str | None, dt.datetime], tuple[str, str, str, str | None]] = {}


def _moment(program: Program | None, now: dt.datetime) -> tuple[str, str, str, str | None]:
    """The texts of ``now`` that prune and summarize compare with: now, GRACE and KEEP ago,
    and the start of the tier window (computed once per batch, not once per member)."""
    key = (program.version if program else None, now)
    if key not in _MOMENTS:
        if len(_MOMENTS) > 64:
            _MOMENTS.clear()
        start = _window_start(program, now)
        _MOMENTS[key] = (
            _text(now),
            _text(now - GRACE),
            _text(now - KEEP),
            _text(start) if start else None,
        )
    return _MOMENTS[key]


def fold(program: Program | None, state: AccountState, entries: Sequence[StoredEntry]) -> None:
    """Apply new entries (in head office's arrival order) to a member's state, in place."""
    days = program.pending_days if program else 0
    measure = program.tier_rule.measure if program else "spend"
    reverse_tier = _refund_reverses_tier(program)
    by_id: dict[str, Lot] | None = None
    for e in entries:
        when = min(e.occurred_at, e.received_at)
        if e.kind == "earn":
            state.purchased = True
        if measure == "spend":
            if e.kind == "earn" and e.reason == "base":
                state.qualifying.append(Contribution(e.entry_id, when, e.amount_minor))
            elif e.kind == "reverse" and e.amount_minor < 0 and reverse_tier:
                # A refund's spend counts in the window its sale counted in.
                origin = next((c for c in state.qualifying if c.entry_id == e.reverses), None)
                if origin is not None:
                    back = _refunded_spend(e, origin.amount)
                    state.qualifying.append(Contribution(e.entry_id, origin.at, back))
        elif e.kind in EARNING_KINDS or (
            reverse_tier
            and e.kind == "reverse"
            and any(c.entry_id == e.reverses for c in state.qualifying)
        ):
            state.qualifying.append(Contribution(e.entry_id, when, e.points))
        if e.points > 0:
            release = _release(when, days) if e.kind in EARNING_KINDS else when
            lot = Lot(e.entry_id, e.points, release, _expires(program, when))
            paid = min(state.debt, lot.points)
            state.debt -= paid
            lot.points -= paid
            state.lots.append(lot)
            if by_id is not None:
                by_id[lot.entry_id] = lot
        elif e.kind == "expire" and e.points < 0:
            _take_expired(state.lots, -e.points, when)
        elif e.points < 0:
            need = -e.points
            if e.reverses:
                if by_id is None:
                    by_id = {lot.entry_id: lot for lot in state.lots}
                own = by_id.get(e.reverses)
                if own is not None and own.points > 0:
                    take = min(own.points, need)
                    own.points -= take
                    need -= take
            for lot in sorted(state.lots, key=lambda x: (x.expires_at or _FAR, x.release_at)):
                if need == 0:
                    break
                if lot.points <= 0 or (lot.expires_at is not None and lot.expires_at <= when):
                    continue
                take = min(lot.points, need)
                lot.points -= take
                need -= take
            state.debt += need


def prune(state: AccountState, now: dt.datetime) -> None:
    """Drop what can no longer count: spent lots, long-expired lots, old tier contributions."""
    _, gone, old, _ = _moment(None, now)
    state.lots = [
        lot
        for lot in state.lots
        if lot.points > 0 and (lot.expires_at is None or lot.expires_at > gone)
    ]
    state.qualifying = [c for c in state.qualifying if c.at >= old]


def _split_lots(lots: Iterable[Any], now: T) -> tuple[int, list[tuple[int, T]], dict[T, int]]:
    """Live lots as of ``now``: spendable points, pending (points, release) and points by
    expiry. Works on datetimes and on the stored fixed-width UTC text alike (both sort in
    time order)."""
    spendable = 0
    pending: list[tuple[int, T]] = []
    expiring: dict[T, int] = {}
    for lot in lots:
        if lot.points <= 0 or (lot.expires_at is not None and lot.expires_at <= now):
            continue
        if lot.release_at > now:
            pending.append((lot.points, lot.release_at))
        else:
            spendable += lot.points
        if lot.expires_at is not None:
            expiring[lot.expires_at] = expiring.get(lot.expires_at, 0) + lot.points
    return spendable, pending, expiring


def summarize(program: Program | None, state: AccountState, now: dt.datetime) -> Account:
    """The account as of ``now``: what ``compute`` returns for the same entries."""
    now_text, _, _, start_text = _moment(program, now)
    spendable, pending, expiring = _split_lots(state.lots, now_text)
    return _account(program, state, spendable, pending, expiring, start_text)


def _account(
    program: Program | None,
    state: AccountState,
    spendable: int,
    pending: list[tuple[int, str]],
    expiring: dict[str, int],
    window_start: str | None,
) -> Account:
    """The account from the live lots' sums and the tier contributions since ``window_start``."""
    if len(pending) > 1:
        pending.sort(key=lambda p: p[1])
    qualifying = 0
    if window_start is not None:
        qualifying = sum(c.amount for c in state.qualifying if c.at >= window_start)
    tier_id = None
    if program is not None:
        tier_id = program.tiers[0].id
        for tier in program.tiers:
            if tier.threshold <= qualifying:
                tier_id = tier.id
    first = min(expiring) if expiring else None
    return Account(
        balance=spendable - state.debt,
        pending=tuple(pending),
        tier_id=tier_id,
        tier_progress=qualifying,
        expiring_points=expiring[first] if first else 0,
        expiring_at=first,
        has_purchased=state.purchased,
        overdrawn=state.debt > 0,
    )


def settle(
    program: Program | None, state: AccountState, entries: Sequence[StoredEntry], now: dt.datetime
) -> Account:
    """``fold``, ``prune`` and ``summarize`` at ``now`` in one pass over the lots: what a push
    does for each member it touches (the same state and account as the three in turn)."""
    fold(program, state, entries)
    now_text, gone, old, start = _moment(program, now)
    lots: list[Lot] = []
    spendable = 0
    pending: list[tuple[int, str]] = []
    expiring: dict[str, int] = {}
    for lot in state.lots:
        points, expires = lot.points, lot.expires_at
        if points <= 0:
            continue
        if expires is not None:
            if expires <= gone:
                continue
            lots.append(lot)
            if expires <= now_text:
                continue
            expiring[expires] = expiring.get(expires, 0) + points
        else:
            lots.append(lot)
        if lot.release_at > now_text:
            pending.append((points, lot.release_at))
        else:
            spendable += points
    state.lots = lots
    if any(c.at < old for c in state.qualifying):
        state.qualifying = [c for c in state.qualifying if c.at >= old]
    return _account(program, state, spendable, pending, expiring, start)
