"""Personal offers at head office: defined for a segment of members (segments.py), given to
each member of it in ``offer_members`` (with the uses counted chain-wide, offer_uses.py), and
sent to tills with the members in the pull (``with_offers``, ``definitions``).

Creating an offer is one transaction: the definition, the members it reaches (an INSERT ...
SELECT over the segment's SQL, not a Python loop), and a change of those members for the
feed, so every till pulls them again with the offer. A dry run says how many active members
the segment reaches, with a warning when that is none or all of them; creating one that
reaches nobody is refused, and one that reaches everybody must say so (``everybody``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import msgspec

from loyalty import offers as rules
from loyalty.db import to_text
from loyalty.errors import BadInput
from sync import protocol as p
from sync import protocol_offers as po
from sync.headoffice import segments
from sync.headoffice.rows import ApiProblem
from sync.headoffice.store import Tx

CHANGE_CHUNK = 1000  # members per change row: a feed page stops near its limit of members


def definition(req: po.OfferRequest) -> po.OfferDefinition:
    """The request's offer, checked by the tills' own rules (loyalty.offers.parse)."""
    d = po.OfferDefinition(
        offer_id=req.offer_id, name=dict(req.name), kind=req.kind, starts=req.starts,
        ends=req.ends, multiplier_percent=req.multiplier_percent,
        bonus_points=req.bonus_points, categories=sorted(set(req.categories)),
        min_spend_minor=req.min_spend_minor, uses=req.uses, stackable=req.stackable,
        reward_id=req.reward_id, cost_points=req.cost_points,
    )  # fmt: skip
    try:
        rules.parse(msgspec.structs.asdict(d))
    except BadInput as exc:
        raise ApiProblem(422, "malformed_offer", field=exc.params.get("field", "")) from None
    if "en" not in d.name:
        raise ApiProblem(422, "malformed_offer", field="name")
    return d


def _warning(reached: int, total: int) -> po.Warning | None:
    if reached == 0:
        return "matches_nobody"
    if reached == total:
        return "matches_everybody"
    return None


def create(ho: Any, req: po.OfferRequest) -> po.OfferAnswer:
    """Create the offer (or, ``req.dry_run``, only count its segment), on head office's clock."""
    d = definition(req)
    now: dt.datetime = ho.clock()
    with ho.store.transaction() as tx:
        program = ho.program(tx)
        if tx.one("SELECT 1 FROM offers WHERE offer_id = ?", (d.offer_id,)) is not None:
            raise ApiProblem(409, "offer_exists", offer=d.offer_id)
        if d.kind == "reward" and (program is None or program.reward(d.reward_id) is None):
            raise ApiProblem(422, "malformed_offer", field="reward_id")  # not in the catalogue
        if d.ends < segments.today(program, now).isoformat():
            raise ApiProblem(422, "malformed_offer", field="ends")  # over before it could start
        total = segments.active_members(tx)
        reached = segments.count(tx, req.segment, program, now)
        warning = _warning(reached, total)
        answer = po.OfferAnswer(d, req.segment, reached, total, req.dry_run, warning)
        if req.dry_run:
            return answer
        if warning == "matches_nobody":
            raise ApiProblem(422, "segment_matches_nobody", offer=d.offer_id)
        if warning == "matches_everybody" and not req.everybody:
            raise ApiProblem(422, "segment_matches_everybody", offer=d.offer_id, members=total)
        tx.run(
            "INSERT INTO offers (offer_id, definition, segment, ends, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (d.offer_id, p.encode(d).decode(), p.encode(req.segment).decode(), d.ends,
             to_text(now)),
        )  # fmt: skip
        ids = segments.insert_into(tx, d.offer_id, req.segment, program, now)
        _changed(ho, tx, ids)
        return msgspec.structs.replace(answer, reached=len(ids))


def _changed(ho: Any, tx: Tx, ids: Sequence[str]) -> None:
    """The members for the feed: every till pulls them again, with their offers."""
    ho._changed(
        tx,
        [
            ("members", json.dumps(list(ids[i : i + CHANGE_CHUNK])))
            for i in range(0, len(ids), CHANGE_CHUNK)
        ],
    )


def refresh(ho: Any, now: dt.datetime | None = None) -> int:
    """Run the segment of every offer not yet ended again (head office's jobs, daily): a
    member who entered it since (lapsed now, enrolled with a birthday in the month, bought
    the category) gets the offer too; none loses it. How many members got one now."""
    now = now or ho.clock()
    decode = msgspec.json.Decoder(po.Segment).decode
    given = 0
    with ho.store.transaction() as tx:
        program = ho.program(tx)
        day = segments.today(program, now).isoformat()
        rows = tx.all(
            "SELECT offer_id, segment FROM offers WHERE ends >= ? ORDER BY offer_id", (day,)
        )
        for offer_id, segment in rows:
            ids = segments.insert_into(tx, offer_id, decode(segment), program, now)
            _changed(ho, tx, ids)
            given += len(ids)
    return given


def listed(ho: Any) -> po.OffersAnswer:
    with ho.store.transaction() as tx:
        rows = tx.all(
            "SELECT o.definition, o.created_at, COUNT(om.member_id), COALESCE(SUM(om.used), 0) "
            "FROM offers o LEFT JOIN offer_members om ON om.offer_id = o.offer_id "
            "GROUP BY o.offer_id, o.definition, o.created_at ORDER BY o.created_at, o.offer_id"
        )
    decode = msgspec.json.Decoder(po.OfferDefinition).decode
    return po.OffersAnswer(
        [po.OfferSummary(decode(r[0]), int(r[2]), int(r[3]), r[1]) for r in rows]
    )


def with_offers(
    tx: Tx, program: Any, states: list[p.MemberState], now: dt.datetime
) -> list[p.MemberState]:
    """The states, each with the member's offers not yet ended (offer id, uses counted), by
    offer id: what travels with the member to every till."""
    if not states:
        return states
    day = segments.today(program, now).isoformat()
    held: dict[str, list[tuple[str, int]]] = {}
    for where, params in tx.matching("om.member_id", [s.member_id for s in states]):
        for member_id, offer_id, used in tx.all(
            "SELECT om.member_id, om.offer_id, om.used FROM offer_members om "
            f"JOIN offers o ON o.offer_id = om.offer_id WHERE {where} AND o.ends >= ? "
            "ORDER BY om.member_id, om.offer_id",
            [*params, day],
        ):
            held.setdefault(member_id, []).append((offer_id, int(used)))
    if not held:
        return states
    return [
        msgspec.structs.replace(s, offers=held[s.member_id]) if s.member_id in held else s
        for s in states
    ]


def definitions(tx: Tx, states: Sequence[p.MemberState]) -> list[po.OfferDefinition]:
    """The definitions of the offers these members hold, once each."""
    ids = sorted({offer_id for s in states for offer_id, _ in s.offers})
    decode = msgspec.json.Decoder(po.OfferDefinition).decode
    out: list[po.OfferDefinition] = []
    for where, params in tx.matching("offer_id", ids):
        rows = tx.all(f"SELECT definition FROM offers WHERE {where}", params)
        out += [decode(r[0]) for r in rows]
    return sorted(out, key=lambda d: d.offer_id)
