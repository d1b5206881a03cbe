"""Personal offers as values (loyalty/offers.py): a definition is checked field by field, an
offer pays by the promotions' rules (stacking included), a personal reward is the catalogue's
reward at the member's own cost, and an offer's face value is what head office lets one use
keep."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loyalty import offers
from loyalty.errors import BadInput
from loyalty.program import parse_program
from loyalty.rules import BasketLine, MemberContext, earn

PROGRAM = parse_program(
    (Path(__file__).resolve().parents[2] / "fixtures" / "program.toml").read_text("utf-8")
)
WEDNESDAY = dt.datetime(2026, 11, 25, 10, tzinfo=dt.UTC)  # no double points
BASE = {"offer_id": "o1", "name": {"en": "Treat"}, "starts": "2026-11-01", "ends": "2026-11-30"}


def offer(**fields: object) -> offers.Offer:
    return offers.parse({**BASE, **fields})


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"offer_id": "bad id"}, "offer_id"),
        ({"kind": "gift"}, "kind"),
        ({"kind": "bonus", "bonus_points": 0}, "bonus_points"),
        ({"kind": "multiplier", "multiplier_percent": 100}, "multiplier_percent"),
        ({"kind": "multiplier", "multiplier_percent": 5000}, "multiplier_percent"),
        ({"kind": "bonus", "bonus_points": 5, "ends": "2026-10-01"}, "ends"),
        ({"kind": "bonus", "bonus_points": 5, "starts": "soon"}, "starts"),
        ({"kind": "bonus", "bonus_points": 5, "uses": 0}, "uses"),
        ({"kind": "reward"}, "reward_id"),
        ({"kind": "bonus", "bonus_points": 5, "name": {"el": "no English"}}, "name"),
    ],
)
def test_a_bad_definition_names_its_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(BadInput) as refused:
        offer(**fields)
    assert (refused.value.code, refused.value.params) == ("malformed_offer", {"field": field})


def test_an_offer_pays_by_the_promotions_stacking_rules() -> None:
    fresh = [BasketLine("FR-1", "fresh", 2500), BasketLine("W-1", "wine", 1000)]
    triple = offer(kind="multiplier", multiplier_percent=300, categories=["fresh"])
    member = MemberContext("olive", None, True, offers=(triple.promotion(),))
    lines = {x.reason: x.points for x in earn(PROGRAM, fresh, 3500, member, WEDNESDAY)}
    # 35 base; the offer triples the 25 of fresh (+50); the fresh bonus (stackable) adds 50.
    assert lines == {"base": 35, "offer:o1": 50, "promo:fresh-bonus": 50}
    single = offer(kind="bonus", bonus_points=10, stackable=False)
    tuesday = WEDNESDAY - dt.timedelta(days=1)  # double points, not stackable: the best one pays
    member = MemberContext("olive", None, True, offers=(single.promotion(),))
    lines = {x.reason: x.points for x in earn(PROGRAM, fresh, 3500, member, tuesday)}
    assert "offer:o1" not in lines and lines["promo:double-tuesday"] == 35
    assert offers.face_value(PROGRAM, triple, 2500) == 50
    assert offers.face_value(PROGRAM, single, 99999) == 10


def test_a_personal_reward_is_the_catalogues_at_the_members_cost() -> None:
    coffee = offers.MemberOffer(offer(kind="reward", reward_id="coffee", cost_points=0), 0)
    tasting = offers.MemberOffer(offer(offer_id="o2", kind="reward", reward_id="tasting",
                                       cost_points=100, uses=1), 1)  # fmt: skip
    program, personal = offers.personal_rewards(PROGRAM, [coffee, tasting])
    assert personal == {"coffee": "o1"}  # the tasting's one use is spent
    assert program.reward("coffee").cost_points == 0  # type: ignore[union-attr]
    assert program.reward("tasting").cost_points == 3000  # type: ignore[union-attr]
    assert offers.usable([coffee, tasting]) == ()  # a reward pays no points
