"""Once means once, chain-wide. Tills offline from each other may each pay a once-only bonus
(welcome, first purchase, the birthday bonus once a year) in good faith; head office keeps the
first it stores and takes back every other with a compensating entry of its own (kind
``reverse``, reason ``already_paid:<promotion>``), in the transaction that stores the duplicate.

Which payment is the first is decided by the ``once_paid`` table's primary key
(member, ``rules.once_key``): the push that inserts the row keeps its bonus; a concurrent push
waits for it on the key (PostgreSQL) and finds it there. Rows are inserted in (member, key)
order so two pushes cannot deadlock on them. A till's refund that later reverses a duplicate
head office already took back is given back (``adjust``, ``already_reversed``), so the refund
does not take the bonus twice.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def compensate(
    tx: Tx,
    program: Program | None,
    stored: Sequence[p.WireEntry],
    stamp: str,
    new: dict[str, list[StoredEntry]],
) -> None:
    """Store head office's own entries that make the once-only bonuses among ``stored`` exact,
    and queue them in ``new`` to fold after the members' new entries."""
    own = compensations(tx, program, stored, stamp)
    if own and program is not None:
        for x, entry in own_entries.write(
            tx, own, currency=program.currency, program_version=program.version, stamp=stamp
        ):
            new[x.member_id].append(entry)


def compensations(
    tx: Tx, program: Program | None, stored: Sequence[p.WireEntry], stamp: str
) -> list[OwnEntry]:
    """The entries that make the once-only promotions among ``stored`` (entries just stored, in
    arrival order) exact: claim each payment's key; take back each whose key was claimed."""
    if program is None:
        return []
    claims: list[tuple[str, str, int, p.WireEntry]] = []
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
            claims.append((e.member_id, key, i, e))
    out: list[OwnEntry] = []
    for member_id, key, _, e in sorted(claims, key=lambda c: (c[0], c[1], c[2])):
        claimed = tx.run(
            "INSERT INTO once_paid (member_id, once_key, entry_id, paid_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (member_id, key, e.entry_id, stamp),
        )
        if not claimed:
            out.append(_taking_back(e, e.points, e.reason[len("promo:") :]))
    out.extend(_refunds_of_taken_back(tx, stored, out))
    return out


def _refunds_of_taken_back(
    tx: Tx, stored: Sequence[p.WireEntry], now: Sequence[OwnEntry]
) -> list[OwnEntry]:
    """A till's reversal of a bonus head office already took back (now or before): give the
    reversal back, up to what head office took, so the bonus is not taken twice."""
    reversing = {e.reverses: e for e in stored if e.kind == "reverse" and e.reverses}
    if not reversing:
        return []
    taken = {x.reverses: -x.points for x in now if x.reverses}
    ours = {_taking_back(target).entry_id: target for target in reversing if target not in taken}
    for where, params in tx.matching("entry_id", sorted(ours)):
        for entry_id, points in tx.all(
            f"SELECT entry_id, points FROM entries WHERE {where}", params
        ):
            taken[ours[entry_id]] = -int(points)
    out: list[OwnEntry] = []
    for target, amount in sorted(taken.items()):
        e = reversing.get(target)
        back = min(amount, -e.points) if e is not None else 0
        if e is not None and back > 0:
            out.append(
                OwnEntry(
                    f"once-refund:{e.entry_id}",
                    e.member_id,
                    "adjust",
                    back,
                    f"{ALREADY_REVERSED}:{target}",
                )  # fmt: skip
            )
    return out


def _taking_back(e: p.WireEntry | str, points: int = 0, promotion: str = "") -> OwnEntry:
    """Head office's entry taking back the duplicate bonus ``e`` (its id fixes the entry's)."""
    entry_id = e if isinstance(e, str) else e.entry_id
    member_id = "" if isinstance(e, str) else e.member_id
    return OwnEntry(
        f"once:{entry_id}", member_id, "reverse", -points, f"{ALREADY_PAID}:{promotion}",
        reverses=entry_id,
    )  # fmt: skip


def _birthdays(tx: Tx, program: Program, stored: Sequence[p.WireEntry]) -> dict[str, str]:
    """Head office's birthdays of the members paid a once-a-year birthday bonus."""
    yearly = {f"promo:{x.id}" for x in program.promotions if x.trigger == "birthday" and x.once}
    ids = sorted({e.member_id for e in stored if e.kind == "bonus" and e.reason in yearly})
    out: dict[str, str] = {}
    for where, params in tx.matching("member_id", ids):
        rows = tx.all(f"SELECT member_id, birthday FROM members WHERE {where}", params)
        out.update((r[0], r[1]) for r in rows if r[1])
    return out
