"""Once means once, chain-wide. Tills offline from each other may each pay a once-only bonus
(welcome, first purchase, the birthday bonus once a year) in good faith; head office keeps the
first it stores and takes back every other with a compensating entry of its own (kind
``reverse``, reason ``already_paid:<promotion>``), in the transaction that stores the duplicate.

Which payment is the first is decided by the ``once_paid`` table's primary key
(member, ``rules.once_key``): the push that inserts the row keeps its bonus; a concurrent push
waits for it on the key (PostgreSQL) and finds it there. Rows are inserted in (member, key)
order so two pushes cannot deadlock on them. A first payment above the promotion's face value (a
dishonest till) keeps the face value; the rest is taken back (``above_face_value``). A till's
refund that later reverses a bonus head office already took back is given back (``adjust``,
``already_reversed``; never more than was taken, ``once_taken``), so the refund does not take
the bonus twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from loyalty.db import from_text
from loyalty.program import Program
from loyalty.rules import once_key
from sync import protocol as p
from sync.headoffice import own_entries
from sync.headoffice.accounts import StoredEntry
from sync.headoffice.own_entries import OwnEntry
from sync.headoffice.store import Tx

ALREADY_PAID = "already_paid"
ALREADY_REVERSED = "already_reversed"
ABOVE_FACE_VALUE = "above_face_value"


def compensate(
    tx: Tx,
    program: Program | None,
    stored: Sequence[p.WireEntry],
    stamp: str,
    new: dict[str, list[StoredEntry]],
) -> list[OwnEntry]:
    """Head office's own entries that make the once-only bonuses among ``stored`` exact,
    queued in ``new`` to fold after the members' new entries; the caller stores them with
    ``own_entries.number`` as late in its transaction as it can."""
    own = compensations(tx, program, stored, stamp)
    if not own or program is None:
        return []
    planned = own_entries.plan(tx, own, stamp)
    for x, entry in planned:
        new[x.member_id].append(entry)
    return [x for x, _ in planned]


def compensations(
    tx: Tx, program: Program | None, stored: Sequence[p.WireEntry], stamp: str
) -> list[OwnEntry]:
    """The entries that make the once-only promotions among ``stored`` (entries just stored, in
    arrival order) exact: claim each payment's key; take back each whose key was claimed."""
    if program is None:
        return []
    claims: list[tuple[str, str, int, p.WireEntry, int]] = []
    birthdays = _birthdays(tx, program, stored)
    for i, e in enumerate(stored):
        if e.kind != "bonus" or e.points <= 0 or not e.reason.startswith("promo:"):
            continue
        promo = program.promotion(e.reason[len("promo:") :])
        if promo is None or not promo.once:
            continue
        when = from_text(min(e.occurred_at, stamp))
        key = once_key(promo, when.astimezone(program.timezone).date(), birthdays.get(e.member_id))
        if key is not None:
            claims.append((e.member_id, key, i, e, promo.bonus_points))
    out: list[OwnEntry] = []
    claims.sort(key=lambda c: (c[0], c[1], c[2]))
    holders: dict[tuple[str, str], str] = {}
    if claims:
        # Every claim in one statement, in (member, key) order, then who holds each key: one
        # round trip each instead of one per claim (a night's push makes about a hundred).
        tx.many(
            "INSERT INTO once_paid (member_id, once_key, entry_id, paid_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [(member_id, key, e.entry_id, stamp) for member_id, key, _, e, _ in claims],
        )
        for where, params in tx.matching("member_id", sorted({c[0] for c in claims})):
            for member_id, key, entry_id in tx.all(
                f"SELECT member_id, once_key, entry_id FROM once_paid WHERE {where}", params
            ):
                holders[(member_id, key)] = entry_id
    for member_id, key, _, e, face in claims:
        claimed = holders.get((member_id, key)) == e.entry_id
        promotion = e.reason[len("promo:") :]
        if not claimed:
            out.append(
                _take_back(tx, e, e.points, f"once:{e.entry_id}", f"{ALREADY_PAID}:{promotion}")
            )
        elif e.points > face:  # a till paid more than the promotion's face value: the rest
            out.append(
                _take_back(tx, e, e.points - face, f"once-excess:{e.entry_id}",
                           f"{ABOVE_FACE_VALUE}:{promotion}")
            )  # fmt: skip
    out.extend(_refunds_of_taken_back(tx, stored))
    return out


def with_once_paid(tx: Tx, states: list[p.MemberState]) -> list[p.MemberState]:
    """The states, each with the once-only bonuses head office holds as paid to the member
    (``once_paid``'s keys, sorted), so that no till pays one of them again."""
    paid: dict[str, list[str]] = {}
    for where, params in tx.matching("member_id", [s.member_id for s in states]):
        for member_id, key in tx.all(
            f"SELECT member_id, once_key FROM once_paid WHERE {where}", params
        ):
            paid.setdefault(member_id, []).append(key)
    if not paid:
        return states
    return [
        msgspec.structs.replace(s, once_paid=sorted(paid[s.member_id]))
        if s.member_id in paid
        else s
        for s in states
    ]


def _refunds_of_taken_back(tx: Tx, stored: Sequence[p.WireEntry]) -> list[OwnEntry]:
    """A till's reversal (a refund) of a bonus head office had taken back, whole or in part:
    give the reversal back, never more in all than head office took (``once_taken``), so the
    bonus is not taken twice."""
    reversals = [e for e in stored if e.kind == "reverse" and e.reverses and e.points < 0]
    if not reversals:
        return []
    left: dict[str, int] = {}
    targets = sorted({e.reverses or "" for e in reversals})
    for where, params in tx.matching("entry_id", targets):
        for entry_id, taken, so_far in tx.all(
            f"SELECT entry_id, taken, given FROM once_taken WHERE {where}", params
        ):
            left[entry_id] = int(taken) - int(so_far)
    out: list[OwnEntry] = []
    given: dict[str, int] = {}
    for e in reversals:
        target = e.reverses or ""
        back = min(left.get(target, 0), -e.points)
        if back > 0:
            left[target] -= back
            given[target] = given.get(target, 0) + back
            out.append(
                OwnEntry(
                    f"once-refund:{e.entry_id}",
                    e.member_id,
                    "adjust",
                    back,
                    f"{ALREADY_REVERSED}:{target}",
                )  # fmt: skip
            )
    for target, amount in sorted(given.items()):
        tx.run("UPDATE once_taken SET given = given + ? WHERE entry_id = ?", (amount, target))
    return out


def _take_back(tx: Tx, e: p.WireEntry, points: int, key: str, reason: str) -> OwnEntry:
    """Head office's entry taking ``points`` of the bonus ``e`` back, recorded so that a later
    refund of ``e`` is corrected by no more than was taken."""
    tx.run(
        "INSERT INTO once_taken (entry_id, member_id, taken) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (e.entry_id, e.member_id, points),
    )
    return OwnEntry(key, e.member_id, "reverse", -points, reason, reverses=e.entry_id)


def _birthdays(tx: Tx, program: Program, stored: Sequence[p.WireEntry]) -> dict[str, str]:
    """Head office's birthdays of the members paid a once-a-year birthday bonus."""
    yearly = {f"promo:{x.id}" for x in program.promotions if x.trigger == "birthday" and x.once}
    ids = sorted({e.member_id for e in stored if e.kind == "bonus" and e.reason in yearly})
    out: dict[str, str] = {}
    for where, params in tx.matching("member_id", ids):
        rows = tx.all(f"SELECT member_id, birthday FROM members WHERE {where}", params)
        out.update((r[0], r[1]) for r in rows if r[1])
    return out
