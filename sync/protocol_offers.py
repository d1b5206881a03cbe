"""The wire payloads of personal offers (loyalty/offers.py, sync/headoffice/offers.py): an
offer's definition as it travels to tills, and head office's admin requests and answers.
Requests are strict, answers tolerant, as in sync/protocol.py."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

OfferId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}\Z")]
MemberId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,32}\Z")]
Category = Annotated[str, Meta(min_length=1, max_length=64)]
Day = Annotated[str, Meta(pattern=r"^[0-9]{4}-[01][0-9]-[0-3][0-9]\Z")]
Name = Annotated[dict[Annotated[str, Meta(pattern=r"^[a-z]{2,3}\Z")], Annotated[
    str, Meta(min_length=1, max_length=80)]], Meta(min_length=1, max_length=20)]  # fmt: skip
Warning = Literal["matches_nobody", "matches_everybody"]


class _Request(Struct, forbid_unknown_fields=True, gc=False):
    pass


class _Answer(Struct, gc=False):
    pass


class OfferDefinition(_Answer):
    """An offer as tills apply it (loyalty.offers.parse): sent once per pull page that has a
    member holding it; ``starts`` and ``ends`` are shop days, both inclusive."""

    offer_id: str
    name: dict[str, str]
    kind: str
    starts: str
    ends: str
    multiplier_percent: int = 100
    bonus_points: int = 0
    categories: list[str] = []
    min_spend_minor: int = 0
    uses: int = 1
    stackable: bool = True
    reward_id: str = ""  # kind reward: the program's reward, at ``cost_points``
    cost_points: int = 0


class Segment(_Request, omit_defaults=True):
    """Which members an offer is for: every condition given must hold (and). ``tiers``: in
    one of these tiers; ``bought_category`` in the last ``bought_days`` days; a birthday in
    ``birthday_month`` (1-12); ``lapsed_days``: no purchase in that many days (but some
    before); ``members``: these members (alone, or narrowing the others)."""

    tiers: Annotated[list[Annotated[str, Meta(min_length=1, max_length=64)]],
                     Meta(max_length=20)] = []  # fmt: skip
    bought_category: Category | None = None
    bought_days: Annotated[int, Meta(ge=1, le=3660)] = 30
    birthday_month: Annotated[int, Meta(ge=1, le=12)] | None = None
    lapsed_days: Annotated[int, Meta(ge=1, le=3660)] | None = None
    members: Annotated[list[MemberId], Meta(max_length=100_000)] = []


class OfferRequest(_Request):
    """A new offer for a segment (``dry_run``: only say how many members it reaches)."""

    offer_id: OfferId
    name: Name
    kind: Literal["multiplier", "bonus", "reward"]
    starts: Day
    ends: Day
    segment: Segment
    multiplier_percent: Annotated[int, Meta(ge=100, le=1000)] = 100
    bonus_points: Annotated[int, Meta(ge=0, le=100_000)] = 0
    categories: Annotated[list[Category], Meta(max_length=50)] = []
    min_spend_minor: Annotated[int, Meta(ge=0, le=10**12)] = 0
    uses: Annotated[int, Meta(ge=1, le=1000)] = 1
    stackable: bool = True
    reward_id: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.-]{0,64}\Z")] = ""
    cost_points: Annotated[int, Meta(ge=0, le=1_000_000)] = 0
    dry_run: bool = False
    everybody: bool = False  # yes, every active member: else such a segment is refused


class OfferAnswer(_Answer):
    """What creating (or a dry run of) an offer did: how many members its segment reaches of
    how many active members, and a warning when that is none or all of them."""

    offer: OfferDefinition
    segment: Segment
    reached: int
    members_total: int
    dry_run: bool
    warning: Warning | None = None


class OfferSummary(_Answer):
    offer: OfferDefinition
    reached: int  # members holding it
    used: int  # uses counted chain-wide
    created_at: str


class OffersAnswer(_Answer):
    offers: list[OfferSummary]


class WirePurchase(_Request):
    """The categories a member bought on a shop day, from a till's sales in a push: what head
    office keeps (``member_categories``) for segments by category bought in the last N days.
    Sent only once head office says it reads them (``ChangesAnswer.takes_purchases``)."""

    member_id: MemberId
    day: Day
    categories: Annotated[list[Category], Meta(max_length=500)]
