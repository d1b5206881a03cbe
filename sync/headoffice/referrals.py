"""Referrals at head office: every member's own code, the referral a new member was enrolled
with, and crediting both members once after the new member's first qualifying purchase.

Codes (loyalty/referrals.py) are unique here: ``referral_codes``' primary key. A till gives
its new member a code at enrolment; the first member to claim a code keeps it, and a member
without one (created here, from before codes, or whose till's code another member holds) is
given a fresh one when head office next sends their state (``with_codes``).

A referral is recorded only with the enrolment that creates the member here (a till's push, or
``attach`` for a member created online), and refused with a reason code when:
``referral_unknown_code`` (no member has it), ``referral_self`` (the member's own code),
``referral_same_phone`` (the referrer has the new member's phone: one shopper, two accounts),
``referral_loop`` (the referrer was referred, directly or through others, by the new member),
``referral_existing_member`` (the member was already enrolled or has bought before: a till
that edits its own database to add a referrer to an old enrolment is refused here). A refusal
is an alert for head office's staff (``till headoffice alerts``) and a row in ``referrals``
(``GET /v1/referrals``).

Crediting happens in the push transaction that stores the new member's first qualifying
purchase (an ``earn`` of at least ``min_spend_minor`` of eligible spend): the referral's row
goes from ``pending`` to ``credited`` in that transaction, so only one push does it, even when
the first purchase happens at two offline tills at once (the other push waits on the row
(PostgreSQL) or the one writer (SQLite) and finds it credited). Head office writes both
bonuses as its own entries, with ids derived from ``referral:<new member>``, so they are
stored once whatever happens; they reach every till through the pull. The referrer's monthly
cap is counted in ``referral_months`` per shop month of the qualifying purchase; a referral
beyond it credits neither member (``referral_capped``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec

from loyalty import referrals as codes
from loyalty.db import from_text
from loyalty.program import Program
from sync import protocol as p
from sync import protocol_referrals as pr
from sync.headoffice import own_entries
from sync.headoffice.accounts import StoredEntry
from sync.headoffice.own_entries import OwnEntry
from sync.headoffice.store import Tx

UNKNOWN_CODE = "referral_unknown_code"
SELF = "referral_self"
SAME_PHONE = "referral_same_phone"
LOOP = "referral_loop"
EXISTING_MEMBER = "referral_existing_member"
CAPPED = "referral_capped"
REFUNDED = "referral_refunded"
REASONS = (UNKNOWN_CODE, SELF, SAME_PHONE, LOOP, EXISTING_MEMBER, CAPPED, REFUNDED)
MAX_CHAIN = 64  # referrers followed up the chain looking for a loop
BONUS_REASON = "referral"  # an entry's reason: "referral:<the other member>"


@dataclass(frozen=True, slots=True)
class Referral:
    """One row of ``referrals``: what became of a new member's referral."""

    member_id: str
    code: str
    referrer_id: str | None
    status: str  # pending | credited | refused
    reason: str
    source: str
    created_at: str
    decided_at: str | None


# -- codes ---------------------------------------------------------------------------------


def claim(tx: Tx, member_id: str, code: str | None, stamp: str) -> None:
    """The code a till gave its new member, if no member holds it and the member has none."""
    if code and codes.is_code(code):
        tx.run(
            "INSERT INTO referral_codes (code, member_id, assigned_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (code, member_id, stamp),
        )


def codes_of(tx: Tx, member_ids: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for where, params in tx.matching("member_id", list(member_ids)):
        out.update(
            (r[0], r[1])
            for r in tx.all(f"SELECT member_id, code FROM referral_codes WHERE {where}", params)
        )
    return out


def with_codes(tx: Tx, states: list[p.MemberState]) -> list[p.MemberState]:
    """The states with each member's referral code; a member without one is given one now
    (stored before it is sent, so every till hears the same code)."""
    if not states:
        return states
    found = codes_of(tx, [s.member_id for s in states])
    stamps = {s.member_id: s.snapshot_at for s in states}
    missing = sorted(stamps.keys() - found.keys())
    for _ in range(8):  # a fresh code is taken by another member once in ~2e10/members
        if not missing:
            break
        # One statement for the page's members (a first pull of a chain from before codes
        # gives every member one), in member order, so two pulls never deadlock on them.
        tx.many(
            "INSERT INTO referral_codes (code, member_id, assigned_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [(codes.new_code(), m, stamps[m]) for m in missing],
        )
        found.update(codes_of(tx, missing))
        missing = [m for m in missing if m not in found]
    return [
        msgspec.structs.replace(s, referral_code=found[s.member_id]) if s.member_id in found else s
        for s in states
    ]


# -- recording a referral -------------------------------------------------------------------


def record(tx: Tx, member_id: str, code: str, source: str, stamp: str, new: bool) -> Referral:
    """Record that ``member_id`` was enrolled with ``code`` (normalised), by ``source`` (a
    till's id, ``admin`` or a channel). ``new``: this enrolment created the member here just
    now. The first referral recorded for a member stays; a later one is answered with it."""
    known = get(tx, member_id)
    if known is not None:
        return known
    row = tx.one("SELECT member_id FROM referral_codes WHERE code = ?", (code,))
    referrer = _kept(tx, row[0]) if row else None
    reason = _refusal(tx, member_id, referrer, new)
    tx.run(
        "INSERT INTO referrals (member_id, code, referrer_id, status, reason, source, "
        "created_at, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (member_id, code, referrer, "refused" if reason else "pending", reason, source, stamp,
         stamp if reason else None),
    )  # fmt: skip
    if reason:
        _alert(tx, source, reason, member_id, stamp)
    found = get(tx, member_id)
    assert found is not None
    return found


def _refusal(tx: Tx, member_id: str, referrer: str | None, new: bool) -> str:
    if referrer is None:
        return UNKNOWN_CODE
    if referrer == member_id or _kept(tx, member_id) == referrer:
        return SELF
    phones = dict(
        (r[0], r[1])
        for r in tx.all(
            "SELECT member_id, phone_hash FROM members WHERE member_id IN (?, ?)",
            (member_id, referrer),
        )
    )
    if phones.get(member_id) and phones.get(member_id) == phones.get(referrer):
        return SAME_PHONE
    up = referrer
    for _ in range(MAX_CHAIN):
        row = tx.one(
            "SELECT referrer_id FROM referrals WHERE member_id = ? AND status <> 'refused'", (up,)
        )
        if row is None or row[0] is None:
            break
        up = row[0]
        if up == member_id:
            return LOOP
    if not new or _has_bought(tx, member_id):
        return EXISTING_MEMBER
    return ""


def _has_bought(tx: Tx, member_id: str) -> bool:
    return (
        tx.one("SELECT 1 FROM entries WHERE member_id = ? AND kind = 'earn' LIMIT 1", (member_id,))
        is not None
    )


def _kept(tx: Tx, member_id: str) -> str:
    """The member ``member_id`` was merged into (a duplicate enrolment), else itself."""
    for _ in range(8):
        row = tx.one("SELECT into_id FROM merges WHERE dup_id = ?", (member_id,))
        if row is None:
            break
        member_id = row[0]
    return member_id


def _merged(tx: Tx, member_id: str) -> bool:
    return tx.one("SELECT 1 FROM merges WHERE dup_id = ?", (member_id,)) is not None


def _alert(tx: Tx, source: str, reason: str, member_id: str, stamp: str) -> None:
    from sync.headoffice.batch import alert_events  # batch wires this module in

    alert_events(tx, source, [(reason, member_id)], stamp)


def get(tx: Tx, member_id: str) -> Referral | None:
    row = tx.one(
        "SELECT member_id, code, referrer_id, status, reason, source, created_at, decided_at "
        "FROM referrals WHERE member_id = ?",
        (member_id,),
    )
    return Referral(*row) if row else None


def listing(tx: Tx, status: str | None, limit: int) -> list[Referral]:
    """The latest referrals, newest first; only those of one status when given."""
    sql = (
        "SELECT member_id, code, referrer_id, status, reason, source, created_at, decided_at "
        "FROM referrals"
    )
    params: tuple[object, ...] = (limit,)
    if status:
        sql += " WHERE status = ?"
        params = (status, limit)
    rows = tx.all(sql + " ORDER BY created_at DESC, member_id LIMIT ?", params)
    return [Referral(*r) for r in rows]


def answer(tx: Tx, status: str | None, limit: int) -> pr.ReferralsAnswer:
    return pr.ReferralsAnswer(
        [pr.ReferralRow(*(getattr(r, f) for f in r.__slots__)) for r in listing(tx, status, limit)]
    )


# -- crediting --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Purchase:
    """A purchase just stored, as crediting needs it: its base ``earn`` entry."""

    member_id: str
    entry_id: str
    amount_minor: int  # its eligible spend
    occurred_at: str
    source: str  # the till's (or channel's) terminal id, for an alert


def credit(
    tx: Tx,
    program: Program | None,
    stored: Sequence[p.WireEntry],
    stamp: str,
    new: dict[str, list[StoredEntry]],
    touched: set[str],
) -> list[OwnEntry]:
    """``credit_purchases`` for the purchases among a push's entries just stored, and
    ``take_back`` for the refunds among them."""
    bought = [
        Purchase(e.member_id, e.entry_id, e.amount_minor, e.occurred_at, e.terminal_id)
        for e in stored
        if e.kind == "earn" and e.reason == "base"
    ]
    own = credit_purchases(tx, program, bought, stamp, new, touched)
    refunds = {e.reverses: 0 for e in stored if e.kind == "reverse" and e.reverses}
    if refunds and stored:
        own += take_back(tx, program, refunds, stored[0].terminal_id, stamp, new, touched)
    return own


class _Posted(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def amount_minor(self) -> int: ...
    @property
    def reverses(self) -> str | None: ...


def for_post(
    tx: Tx,
    program: Program | None,
    member_id: str,
    entries: Sequence[tuple[str, _Posted]],
    occurred_at: str,
    source: str,
    stamp: str,
    new: dict[str, list[StoredEntry]],
    touched: set[str],
) -> list[OwnEntry]:
    """``credit_purchases`` and ``take_back`` for a channel's post: its entries (id, entry),
    not stored yet."""
    bought = [
        Purchase(member_id, eid, e.amount_minor, occurred_at, source)
        for eid, e in entries
        if e.kind == "earn" and e.reason == "base"
    ]
    own = credit_purchases(tx, program, bought, stamp, new, touched)
    refunds: dict[str, int] = {}
    for _, e in entries:
        if e.kind == "reverse" and e.reverses:
            refunds[e.reverses] = refunds.get(e.reverses, 0) + e.amount_minor
    return own + take_back(tx, program, refunds, source, stamp, new, touched)


def credit_purchases(
    tx: Tx,
    program: Program | None,
    bought: Sequence[Purchase],
    stamp: str,
    new: dict[str, list[StoredEntry]],
    touched: set[str],
) -> list[OwnEntry]:
    """Head office's bonuses for the referrals whose new member's first qualifying purchase is
    among ``bought`` (just stored, by a till's push or a channel's post), queued in ``new`` to
    fold, their referrers added to ``touched``; the caller stores them with
    ``own_entries.number``."""
    rules = program.referrals if program is not None else None
    if rules is None or program is None:
        return []
    first: dict[str, Purchase] = {}
    for e in bought:
        if e.amount_minor >= rules.min_spend_minor and e.member_id not in first:
            first[e.member_id] = e
    if not first:
        return []
    pending: list[tuple[str, str]] = []
    for where, params in tx.matching("member_id", sorted(first)):
        pending.extend(
            (r[1], r[0])
            for r in tx.all(
                f"SELECT member_id, referrer_id FROM referrals WHERE {where} "
                "AND status = 'pending'",
                params,
            )
        )
    own: list[OwnEntry] = []
    # In referrer order, so two pushes take the referrers' month counters in one order.
    for referrer_id, member_id in sorted(pending):
        e = first[member_id]
        referrer = _kept(tx, referrer_id)
        taken = tx.run(
            "UPDATE referrals SET status = 'credited', decided_at = ?, purchase_entry_id = ? "
            "WHERE member_id = ? AND status = 'pending'",
            (stamp, e.entry_id, member_id),
        )
        if not taken:
            continue  # another push credited it first
        refusal = ""
        if _merged(tx, member_id):
            refusal = EXISTING_MEMBER  # a duplicate enrolment of someone already a member
        elif not _counted(tx, referrer, _month(program, e, stamp), rules.monthly_cap):
            refusal = CAPPED
        if refusal:
            tx.run(
                "UPDATE referrals SET status = 'refused', reason = ? WHERE member_id = ?",
                (refusal, member_id),
            )
            _alert(tx, e.source, refusal, member_id, stamp)
            continue
        if rules.member_points:
            own.append(
                OwnEntry(f"referral:{member_id}", member_id, "bonus", rules.member_points,
                         f"{BONUS_REASON}:{referrer}")
            )  # fmt: skip
        if rules.referrer_points:
            own.append(
                OwnEntry(f"referral:{member_id}:referrer", referrer, "bonus",
                         rules.referrer_points, f"{BONUS_REASON}:{member_id}")
            )  # fmt: skip
            touched.add(referrer)
    planned = own_entries.plan(tx, own, stamp)
    for x, entry in planned:
        new.setdefault(x.member_id, []).append(entry)
    return [x for x, _ in planned]


def take_back(
    tx: Tx,
    program: Program | None,
    refunds: dict[str, int],
    source: str,
    stamp: str,
    new: dict[str, list[StoredEntry]],
    touched: set[str],
) -> list[OwnEntry]:
    """The qualifying purchase of a credited referral refunded below ``min_spend_minor``, and
    no other purchase of the new member's qualifying in its place: head office takes both
    bonuses back (``reverse`` entries of its own, reason
    ``referral_refunded:<the other member>``) and the referral is refused as
    ``referral_refunded``. ``refunds``: the purchase entries (base earns) just reversed, each
    with the spend of reversals not yet in ``entries`` (a channel's post stores its entries
    last; a push has stored them already: 0). The referrer's month keeps the referral counted."""
    rules = program.referrals if program is not None else None
    if rules is None or not refunds:
        return []
    credited: list[tuple[str, str, str]] = []
    for where, params in tx.matching("purchase_entry_id", sorted(refunds)):
        credited.extend(
            (r[0], r[1], r[2])
            for r in tx.all(
                "SELECT member_id, referrer_id, purchase_entry_id FROM referrals "
                f"WHERE {where} AND status = 'credited'",
                params,
            )
        )
    own: list[OwnEntry] = []
    for member_id, referrer_id, purchase in sorted(credited):
        row = tx.one(
            "SELECT (SELECT amount_minor FROM entries WHERE entry_id = ?) + "
            "(SELECT COALESCE(SUM(amount_minor), 0) FROM entries WHERE reverses = ? "
            "AND kind = 'reverse')",
            (purchase, purchase),
        )
        kept = int(row[0] or 0) + refunds[purchase] if row else 0
        if kept >= rules.min_spend_minor:
            continue
        instead = tx.one(
            "SELECT e.entry_id FROM entries e WHERE e.member_id = ? AND e.kind = 'earn' "
            "AND e.reason = 'base' AND e.entry_id <> ? AND e.amount_minor + COALESCE((SELECT "
            "SUM(r.amount_minor) FROM entries r WHERE r.reverses = e.entry_id AND "
            "r.kind = 'reverse'), 0) >= ? ORDER BY e.id LIMIT 1",
            (member_id, purchase, rules.min_spend_minor),
        )
        if instead is not None:  # another purchase of theirs qualifies: the referral stands on it
            tx.run(
                "UPDATE referrals SET purchase_entry_id = ? WHERE member_id = ?",
                (instead[0], member_id),
            )
            continue
        taken = tx.run(
            "UPDATE referrals SET status = 'refused', reason = ?, decided_at = ? "
            "WHERE member_id = ? AND status = 'credited'",
            (REFUNDED, stamp, member_id),
        )
        if not taken:
            continue
        _alert(tx, source, REFUNDED, member_id, stamp)
        referrer = _kept(tx, referrer_id)
        for key, holder, other in (
            (f"referral:{member_id}", member_id, referrer),
            (f"referral:{member_id}:referrer", referrer, member_id),
        ):
            bonus = OwnEntry(key, holder, "bonus", 0, "").entry_id
            paid = tx.one("SELECT member_id, points FROM entries WHERE entry_id = ?", (bonus,))
            if paid is None or int(paid[1]) <= 0:
                continue
            own.append(
                OwnEntry(f"referral-back:{key}", paid[0], "reverse", -int(paid[1]),
                         f"{REFUNDED}:{other}", reverses=bonus)
            )  # fmt: skip
            touched.add(paid[0])
    planned = own_entries.plan(tx, own, stamp)
    for x, entry in planned:
        new.setdefault(x.member_id, []).append(entry)
    return [x for x, _ in planned]


def _month(program: Program, e: Purchase, stamp: str) -> str:
    """The shop month of the purchase (never later than head office's clock says: a till's
    fast clock cannot put a referral into next month's cap)."""
    when: dt.datetime = from_text(min(e.occurred_at, stamp))
    return when.astimezone(program.timezone).strftime("%Y-%m")


def _counted(tx: Tx, referrer: str, month: str, cap: int) -> bool:
    """Count one more referral of ``referrer`` in ``month`` if the cap allows it."""
    row = tx.one(
        "INSERT INTO referral_months (referrer_id, month, n) VALUES (?, ?, 1) "
        "ON CONFLICT (referrer_id, month) DO UPDATE SET n = referral_months.n + 1 "
        "WHERE referral_months.n < ? RETURNING n",
        (referrer, month, cap),
    )
    return row is not None
