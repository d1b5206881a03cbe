"""A personal offer's uses, counted once chain-wide. Tills offline from each other may each pay
a member's offer in good faith; head office counts each use it stores against the offer's
limit per member (``offer_members.used``) and takes back, with a compensating entry of its own
(kind ``reverse``), every use beyond the limit, every use of an offer the member does not hold
or outside its period (a dishonest till that gave itself an offer), and whatever one use paid
above the offer's face value, all in the transaction that stores the push.

The count is one ``UPDATE ... SET used = used + 1 WHERE used < limit`` per use, in (member,
offer) order: on PostgreSQL a concurrent push for the same member waits for the row and then
sees the count the first left. A refund that reverses a counted use in full gives the use back
(``used - 1``); a refund of a use head office took back is given back its reversal by once.py
(``once_taken``), as for a once-only bonus.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from loyalty import offers as rules
from loyalty.db import from_text
from loyalty.program import Program
from sync import protocol as p
from sync import protocol_offers as po
from sync.headoffice import own_entries
from sync.headoffice.accounts import StoredEntry
from sync.headoffice.own_entries import OwnEntry
from sync.headoffice.store import Tx

REDEEMING = ("redeem", "donate")  # a personal reward's use
USED_UP = "offer_used_up"  # beyond the offer's uses per member
NOT_HELD = "offer_not_held"  # the member does not hold the offer (or it does not exist)
OUT_OF_PERIOD = "offer_out_of_period"
ABOVE_VALUE = "offer_above_value"


def compensate(
    tx: Tx,
    program: Program | None,
    stored: Sequence[p.WireEntry],
    stamp: str,
    new: dict[str, list[StoredEntry]],
) -> list[OwnEntry]:
    """Head office's own entries that make the offer uses among ``stored`` exact, queued in
    ``new`` to fold; the caller numbers them (``own_entries.number``) late in its transaction."""
    if program is None:
        return []
    _give_back(tx, stored)
    own = _uses(tx, program, stored, stamp)
    if not own:
        return []
    planned = own_entries.plan(tx, own, stamp)
    for x, entry in planned:
        new[x.member_id].append(entry)
    return [x for x, _ in planned]


def _offer_id(e: p.WireEntry) -> str | None:
    if not e.reason.startswith(rules.REASON):
        return None
    if (e.kind == "bonus" and e.points > 0) or e.kind in REDEEMING:
        return e.reason[len(rules.REASON) :]
    return None


def _undue(program: Program, e: p.WireEntry, reason: str, tx: Tx) -> OwnEntry | None:
    """Head office's entry for a use it cannot count: the bonus's points taken back, or for a
    personal reward the points the catalogue asks for it that the member did not pay."""
    if e.kind == "bonus":
        return _take_back(tx, e, e.points, reason)
    reward = program.reward(e.reward_id or "")
    charge = (reward.cost_points if reward else 0) + e.points  # e.points: minus what was paid
    if charge <= 0:
        return None
    return OwnEntry(f"offer:{e.entry_id}", e.member_id, "adjust", -charge, reason)


def _definitions(tx: Tx, ids: Sequence[str]) -> dict[str, rules.Offer]:
    out: dict[str, rules.Offer] = {}
    decode = msgspec.json.Decoder(po.OfferDefinition).decode
    for where, params in tx.matching("offer_id", list(ids)):
        for (text,) in tx.all(f"SELECT definition FROM offers WHERE {where}", params):
            offer = rules.parse(msgspec.structs.asdict(decode(text)))
            out[offer.offer_id] = offer
    return out


def _uses(tx: Tx, program: Program, stored: Sequence[p.WireEntry], stamp: str) -> list[OwnEntry]:
    uses = [(e.member_id, o, i, e) for i, e in enumerate(stored) if (o := _offer_id(e))]
    if not uses:
        return []
    uses.sort(key=lambda u: (u[0], u[1], u[2]))  # row locks in one order: no deadlock
    known = _definitions(tx, sorted({u[1] for u in uses}))
    out: list[OwnEntry | None] = []
    for member_id, offer_id, _, e in uses:
        offer = known.get(offer_id)
        day = from_text(min(e.occurred_at, stamp)).astimezone(program.timezone).date()
        rewarding = e.kind in REDEEMING
        if (
            offer is None
            or rewarding != (offer.kind == "reward")
            or (rewarding and e.reward_id != offer.reward_id)
        ):
            out.append(_undue(program, e, f"{NOT_HELD}:{offer_id}", tx))
            continue
        if not offer.on(day):
            out.append(_undue(program, e, f"{OUT_OF_PERIOD}:{offer_id}", tx))
            continue
        counted = tx.run(
            "UPDATE offer_members SET used = used + 1 "
            "WHERE member_id = ? AND offer_id = ? AND used < ?",
            (member_id, offer_id, offer.uses),
        )
        if not counted:
            held = tx.one(
                "SELECT 1 FROM offer_members WHERE member_id = ? AND offer_id = ?",
                (member_id, offer_id),
            )
            problem = USED_UP if held else NOT_HELD
            out.append(_undue(program, e, f"{problem}:{offer_id}", tx))
            continue
        tx.run(
            "INSERT INTO offer_uses (entry_id, member_id, offer_id, points, reversed) "
            "VALUES (?, ?, ?, ?, 0)",
            (e.entry_id, member_id, offer_id, e.points),
        )
        if rewarding:  # paid less than the offer's own cost: the rest
            if -e.points < offer.cost_points:
                short = offer.cost_points + e.points
                out.append(OwnEntry(f"offer-excess:{e.entry_id}", member_id, "adjust", -short,
                                    f"{ABOVE_VALUE}:{offer_id}"))  # fmt: skip
            continue
        face = rules.face_value(program, offer, e.amount_minor)
        if e.points > face:
            out.append(
                _take_back(tx, e, e.points - face, f"{ABOVE_VALUE}:{offer_id}", "offer-excess")
            )
    return [x for x in out if x is not None]


def _give_back(tx: Tx, stored: Sequence[p.WireEntry]) -> None:
    """A refund that reverses a counted use in full gives the use back (no entry: the count)."""
    reversals = [e for e in stored if e.kind == "reverse" and e.reverses and e.points < 0]
    if not reversals:
        return
    uses: dict[str, list[object]] = {}
    for where, params in tx.matching("entry_id", sorted({e.reverses or "" for e in reversals})):
        for entry_id, member_id, offer_id, points, done in tx.all(
            f"SELECT entry_id, member_id, offer_id, points, reversed FROM offer_uses WHERE {where}",
            params,
        ):
            uses[entry_id] = [member_id, offer_id, int(points), int(done)]
    back: list[tuple[str, str]] = []
    for e in reversals:
        use = uses.get(e.reverses or "")
        if use is None:
            continue
        member_id, offer_id, points, done = use
        now_done = int(done) + -e.points  # type: ignore[call-overload]
        tx.run(
            "UPDATE offer_uses SET reversed = ? WHERE entry_id = ?", (now_done, e.reverses or "")
        )
        if int(done) < int(points) <= now_done:  # type: ignore[call-overload]
            back.append((str(member_id), str(offer_id)))
        use[3] = now_done
    for member_id, offer_id in sorted(back):
        tx.run(
            "UPDATE offer_members SET used = used - 1 "
            "WHERE member_id = ? AND offer_id = ? AND used > 0",
            (member_id, offer_id),
        )


def _take_back(tx: Tx, e: p.WireEntry, points: int, reason: str, key: str = "offer") -> OwnEntry:
    """Head office's entry taking ``points`` of the offer's use ``e`` back, recorded (as once.py
    does) so a later refund of ``e`` is corrected by no more than was taken."""
    tx.run(
        "INSERT INTO once_taken (entry_id, member_id, taken) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (e.entry_id, e.member_id, points),
    )
    return OwnEntry(f"{key}:{e.entry_id}", e.member_id, "reverse", -points, reason,
                    reverses=e.entry_id)  # fmt: skip
