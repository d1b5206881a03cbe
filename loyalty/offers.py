"""Personal offers at the till: what head office offers one member (a multiplier or a bonus on
categories, for a period, a number of uses per member), applied offline with the promotions'
own stacking rules.

Head office defines an offer for a segment of members (sync/headoffice/offers.py); each
member's offers travel with the member in the pull as ``(offer id, uses head office counts)``
and the offers' definitions once per page. Here: the definition as a value (``Offer``, checked
by ``parse``), the till's copy of the definitions (table ``offers``), and which of a member's
offers a sale may use now (``usable``): in its period on the shop's calendar, with uses left
after head office's count and this till's own uses it has not yet heard back about. A use
paid in good faith at two offline tills beyond the limit is head office's to take back.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from loyalty import members
from loyalty.db import from_text
from loyalty.errors import BadInput
from loyalty.program import Localised, Program, Promotion
from loyalty.rules import points_for

if TYPE_CHECKING:
    from loyalty.till import Till

OFFER_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")
REASON = "offer:"  # a ledger entry's reason: "offer:<offer id>"
MAX_USES = 1000
MAX_MULTIPLIER = 1000  # 10x
MAX_BONUS = 100_000
MAX_CATEGORIES = 50
MAX_OFFERS_PER_MEMBER = 100
# A multiplier or bonus on a sale's spend, or a reward of the program's catalogue at the
# member's own points cost (``cost_points``, 0 = free).
OfferKind = Literal["multiplier", "bonus", "reward"]
KINDS: tuple[str, ...] = ("multiplier", "bonus", "reward")
MAX_COST = 1_000_000


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: str
    name: Localised
    kind: OfferKind
    multiplier_percent: int  # multiplier: 300 = three times the base points on its categories
    bonus_points: int  # bonus
    categories: frozenset[str]  # empty = every eligible category
    min_spend_minor: int
    starts: dt.date  # shop days, both inclusive
    ends: dt.date
    uses: int  # per member
    stackable: bool
    reward_id: str = ""  # reward: the program's reward it offers ...
    cost_points: int = 0  # ... at this cost in points

    def promotion(self) -> Promotion:
        """The offer as a promotion of one sale: ``rules.earn`` pays it by the same rules."""
        kind: Literal["multiplier", "bonus"] = "bonus" if self.kind == "bonus" else "multiplier"
        return Promotion(
            id=self.offer_id, name=self.name, kind=kind,
            multiplier_percent=self.multiplier_percent, bonus_points=self.bonus_points,
            trigger="always", starts=self.starts, ends=self.ends, weekdays=frozenset(),
            categories=self.categories, min_spend_minor=self.min_spend_minor,
            stackable=self.stackable, birthday_window_days=0, scope="per_sale",
        )  # fmt: skip

    def on(self, day: dt.date) -> bool:
        return self.starts <= day <= self.ends

    def as_dict(self) -> dict[str, Any]:
        return {
            "offer_id": self.offer_id, "name": dict(self.name), "kind": self.kind,
            "multiplier_percent": self.multiplier_percent, "bonus_points": self.bonus_points,
            "categories": sorted(self.categories), "min_spend_minor": self.min_spend_minor,
            "starts": self.starts.isoformat(), "ends": self.ends.isoformat(), "uses": self.uses,
            "stackable": self.stackable, "reward_id": self.reward_id,
            "cost_points": self.cost_points,
        }  # fmt: skip


def face_value(program: Program, offer: Offer, amount_minor: int) -> int:
    """The most one use of ``offer`` pays on ``amount_minor`` of spend in its categories (what
    a ledger entry of it records as its amount): head office takes back anything above. A
    reward pays no points: 0."""
    if offer.kind == "reward":
        return 0
    if offer.kind == "bonus":
        return offer.bonus_points
    return points_for(program, max(0, amount_minor)) * (offer.multiplier_percent - 100) // 100


def _int(data: Mapping[str, Any], field: str, default: int, low: int, high: int) -> int:
    value = data.get(field, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadInput("malformed_offer", field=field)
    return value


def _day(data: Mapping[str, Any], field: str) -> dt.date:
    value = data.get(field)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise BadInput("malformed_offer", field=field) from None


def parse(data: Mapping[str, Any]) -> Offer:
    """An offer from its definition (head office's request, or the pull's copy); BadInput
    names the field that is wrong."""
    offer_id = data.get("offer_id")
    if not isinstance(offer_id, str) or not OFFER_ID.match(offer_id):
        raise BadInput("malformed_offer", field="offer_id")
    name = data.get("name")
    if isinstance(name, str):
        name = {"en": name}
    if (
        not isinstance(name, Mapping)
        or not isinstance(name.get("en"), str)
        or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() and len(v) <= 80
            for k, v in name.items()
        )  # fmt: skip
    ):
        raise BadInput("malformed_offer", field="name")
    kind = data.get("kind")
    if kind not in KINDS:
        raise BadInput("malformed_offer", field="kind")
    categories = data.get("categories", [])
    if (
        not isinstance(categories, list | tuple)
        or len(categories) > MAX_CATEGORIES
        or not all(isinstance(c, str) and 0 < len(c) <= 64 for c in categories)
    ):
        raise BadInput("malformed_offer", field="categories")
    stackable = data.get("stackable", True)
    if not isinstance(stackable, bool):
        raise BadInput("malformed_offer", field="stackable")
    reward_id = data.get("reward_id") or ""
    if not isinstance(reward_id, str):
        raise BadInput("malformed_offer", field="reward_id")
    offer = Offer(
        offer_id=offer_id,
        name=dict(name),
        kind=kind,  # type: ignore[arg-type]
        multiplier_percent=_int(data, "multiplier_percent", 100, 100, MAX_MULTIPLIER),
        bonus_points=_int(data, "bonus_points", 0, 0, MAX_BONUS),
        categories=frozenset(categories),
        min_spend_minor=_int(data, "min_spend_minor", 0, 0, 10**12),
        starts=_day(data, "starts"),
        ends=_day(data, "ends"),
        uses=_int(data, "uses", 1, 1, MAX_USES),
        stackable=stackable,
        reward_id=reward_id,
        cost_points=_int(data, "cost_points", 0, 0, MAX_COST),
    )
    if kind == "reward" and not OFFER_ID.match(offer.reward_id):
        raise BadInput("malformed_offer", field="reward_id")
    if kind == "multiplier" and offer.multiplier_percent <= 100:
        raise BadInput("malformed_offer", field="multiplier_percent")
    if kind == "bonus" and offer.bonus_points < 1:
        raise BadInput("malformed_offer", field="bonus_points")
    if offer.ends < offer.starts:
        raise BadInput("malformed_offer", field="ends")
    return offer


# -- the till's copy -----------------------------------------------------------------------------
def store(conn: sqlite3.Connection, definitions: Iterable[Mapping[str, Any]], now: str) -> int:
    """Keep head office's definitions (a newer one replaces the older); a malformed one is
    skipped: the members' offers that name it are not applied."""
    rows = []
    for d in definitions:
        try:
            offer = parse(d)
        except BadInput:
            continue
        rows.append((offer.offer_id, json.dumps(offer.as_dict(), ensure_ascii=False), now))
    conn.executemany(
        "INSERT INTO offers (offer_id, definition_json, received_at) VALUES (?, ?, ?) "
        "ON CONFLICT(offer_id) DO UPDATE SET definition_json = excluded.definition_json, "
        "received_at = excluded.received_at",
        rows,
    )
    return len(rows)


def definitions(conn: sqlite3.Connection, offer_ids: Sequence[str]) -> dict[str, Offer]:
    if not offer_ids:
        return {}
    marks = ", ".join("?" * len(offer_ids))
    rows = conn.execute(
        f"SELECT definition_json FROM offers WHERE offer_id IN ({marks})", list(offer_ids)
    ).fetchall()
    out = {}
    for (text,) in rows:
        try:
            offer = parse(json.loads(text))
        except (BadInput, ValueError, TypeError, AttributeError):
            continue  # a damaged copy pays nothing, and stops no sale
        out[offer.offer_id] = offer
    return out


def names(conn: sqlite3.Connection) -> dict[str, Localised]:
    """Every offer's name this till knows, for receipts and screens (by offer id)."""
    out: dict[str, Localised] = {}
    for (text,) in conn.execute("SELECT definition_json FROM offers"):
        data = json.loads(text)
        out[str(data["offer_id"])] = data["name"]
    return out


def local_uses(conn: sqlite3.Connection, member_id: str) -> dict[str, int]:
    """Uses of each offer this till made that head office has not counted yet: its own
    unacknowledged offer entries, less those a refund reversed in full (one whose reversal is
    unacknowledged while the use was counted gives that use back, -1). A personal reward's
    use is not given back by a refund."""
    rows = conn.execute(
        "SELECT e.reason, CASE WHEN e.kind = 'bonus' THEN e.points END, e.acked_at IS NULL, "
        "COALESCE((SELECT -SUM(r.points) FROM ledger r WHERE r.reverses = e.entry_id), 0), "
        "(SELECT COUNT(*) FROM ledger r WHERE r.reverses = e.entry_id AND r.acked_at IS NULL) "
        "FROM ledger e WHERE e.member_id = ? AND e.reason LIKE 'offer:%' "
        "AND ((e.kind = 'bonus' AND e.points > 0) OR e.kind IN ('redeem', 'donate'))",
        (member_id,),
    ).fetchall()
    out: dict[str, int] = {}
    for reason, points, unacked, reversed_points, unacked_reversals in rows:
        offer_id = reason[len(REASON) :]
        given_back = points is not None and reversed_points >= points
        if unacked and not given_back:
            out[offer_id] = out.get(offer_id, 0) + 1
        elif not unacked and given_back and unacked_reversals:
            out[offer_id] = out.get(offer_id, 0) - 1
    return out


@dataclass(frozen=True, slots=True)
class MemberOffer:
    """One of a member's offers as the till sees it now."""

    offer: Offer
    used: int  # head office's count and this till's own uses not yet counted there

    @property
    def left(self) -> int:
        return max(0, self.offer.uses - self.used)


def of_member(
    conn: sqlite3.Connection,
    held: Sequence[tuple[str, int]],
    member_id: str,
    program: Program,
    now: dt.datetime,
) -> tuple[MemberOffer, ...]:
    """The member's offers in their period today (shop time), with their uses so far, in the
    order head office sent them. An expired offer, or one not yet begun, is left out."""
    if not held:
        return ()
    known = definitions(conn, [offer_id for offer_id, _ in held])
    mine = local_uses(conn, member_id)
    today = now.astimezone(program.timezone).date()
    out = []
    for offer_id, used in held:
        offer = known.get(offer_id)
        if offer is not None and offer.on(today):
            out.append(MemberOffer(offer, max(0, used + mine.get(offer_id, 0))))
    return tuple(out)


def usable(offers: Sequence[MemberOffer]) -> tuple[Promotion, ...]:
    """The offers a sale may pay now (uses left), as promotions for ``rules.earn``."""
    return tuple(o.offer.promotion() for o in offers if o.left > 0 and o.offer.kind != "reward")


def personal_rewards(
    program: Program, offers: Sequence[MemberOffer]
) -> tuple[Program, dict[str, str]]:
    """The program as this member may redeem it now: each reward a personal offer with uses
    left names at the offer's cost (whatever the member's tier), and which offer each such
    reward's redemption uses (reward id -> offer id)."""
    personal: dict[str, MemberOffer] = {}
    for o in offers:
        if o.offer.kind == "reward" and o.left > 0 and program.reward(o.offer.reward_id):
            best = personal.get(o.offer.reward_id)
            if best is None or o.offer.cost_points < best.offer.cost_points:
                personal[o.offer.reward_id] = o
    if not personal:
        return program, {}
    rewards = tuple(
        replace(r, cost_points=personal[r.id].offer.cost_points, tiers=frozenset())
        if r.id in personal
        else r
        for r in program.rewards
    )
    return replace(program, rewards=rewards), {k: o.offer.offer_id for k, o in personal.items()}


def at_till(till: Till, member_id: str, now: dt.datetime | None = None) -> tuple[MemberOffer, ...]:
    """The member's offers in their period at ``now`` (the till's clock), for the screens."""
    when = now or dt.datetime.now(dt.UTC)
    with till.db.read() as conn:
        member = members.get(conn, member_id)
        if member is None:
            return ()
        return of_member(conn, member.offers, member.member_id, till.program, when)


def names_at_till(till: Till) -> dict[str, Localised]:
    with till.db.read() as conn:
        return names(conn)


TAKES_PURCHASES = "headoffice_takes_purchases"  # meta: head office reads pushed purchases


def purchases(
    conn: sqlite3.Connection, program: Program, receipt_nos: Iterable[str]
) -> list[tuple[str, str, tuple[str, ...]]]:
    """(member, shop day, categories bought) of these receipts' sales: what head office's
    segments by category read. Refunds are not purchases."""
    nos = sorted(set(receipt_nos))
    out = []
    for i in range(0, len(nos), 500):
        chunk = nos[i : i + 500]
        rows = conn.execute(
            "SELECT member_id, occurred_at, lines_json FROM sales WHERE kind = 'sale' "
            f"AND receipt_no IN ({', '.join('?' * len(chunk))}) ORDER BY receipt_no",
            chunk,
        ).fetchall()
        for member_id, occurred_at, lines_json in rows:
            day = from_text(occurred_at).astimezone(program.timezone).date()
            categories = tuple(sorted({str(line[1]) for line in json.loads(lines_json)}))
            out.append((str(member_id), day.isoformat(), categories))
    return out
