"""What a channel (the web shop, the app) posts to head office and what it is answered: its
purchases, refunds, redemptions and engagement events, each named by the channel's own id for
it (an order id, a refund id, ...) and sent with an ``Idempotency-Key`` header.

Strict like every request of sync.protocol: unknown fields, ids outside their patterns and
amounts beyond their bounds are refused with a code before anything is stored."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from sync.protocol import Answer, Identifier, MemberState, Request, Timestamp

# A channel's own id for a fact: an order number, a refund or event id (its own namespace per
# channel and per kind of fact).
ChannelRef = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}\Z")]
Action = Annotated[str, Meta(pattern=r"^[a-z0-9_]{1,32}\Z")]
Text64 = Annotated[str, Meta(min_length=1, max_length=64)]
LineAmount = Annotated[int, Meta(ge=0, le=10**12)]
RefundAmount = Annotated[int, Meta(ge=1, le=10**12)]
PostedPoints = Annotated[int, Meta(ge=1, le=10**9)]
MAX_LINES = 500


class ChannelLine(Request):
    sku: Text64
    category: Text64
    amount_minor: LineAmount


class ChannelPurchase(Request):
    """An order paid on the channel: it earns by the program's rules (base, tier, promotions;
    the once-only ones once chain-wide), as a till's sale would."""

    member_id: Identifier
    order_id: ChannelRef
    lines: Annotated[list[ChannelLine], Meta(min_length=1, max_length=MAX_LINES)]
    occurred_at: Timestamp | None = None  # when the order was paid (never later than now)


class ChannelRefund(Request):
    """Money given back on one of the channel's own orders: the points the order earned are
    reversed in the share the refunds (all of them so far) bear to the order's total."""

    refund_id: ChannelRef
    order_id: ChannelRef
    amount_minor: RefundAmount
    occurred_at: Timestamp | None = None


class ChannelRedemption(Request):
    """Points spent on the channel. Head office is online: it refuses an overdraft
    (``insufficient_points``) instead of recording one."""

    member_id: Identifier
    redemption_id: ChannelRef
    points: PostedPoints
    reward_id: Identifier | None = None  # then ``points`` must be the reward's cost
    order_id: ChannelRef | None = None
    occurred_at: Timestamp | None = None


class ChannelEvent(Request):
    """An engagement action (a review written, a social follow, ...): points by the program's
    ``engagement`` rule for the action, within its cap and minimum account age."""

    member_id: Identifier
    event_id: ChannelRef
    action: Action
    occurred_at: Timestamp | None = None


class ChannelEntry(Answer):
    entry_id: str
    kind: str
    points: int
    reason: str
    amount_minor: int = 0


class ChannelAnswer(Answer):
    """What head office stored for a post, and the member's account after it. A retried post
    (same key, same body) gets this same answer again."""

    channel_id: str
    kind: Literal["purchase", "refund", "redemption", "event"]
    ref: str  # the channel's own id of the fact (order, refund, redemption or event id)
    member_id: str
    points: int  # the sum of the entries' points
    entries: list[ChannelEntry]
    member: MemberState


class EventRecord(Answer):
    """An engagement payment head office holds (one slot of its rule's cap)."""

    entry_id: str
    member_id: str
    action: str
    period: str  # the period it counts in: ``2026-12``, ``2026-W49``, ``ever`` ...
    points: int
    source: str  # ``@channel:<id>`` or the till's id
    occurred_at: str
    claimed_at: str
    event_id: str | None = None  # the channel's own id of the event


class EventsAnswer(Answer):
    events: list[EventRecord]
