"""A member's recent activity on the channels (the web shop, the app) as it travels to tills
in the pull (``ChangesAnswer.channel_activity``), so a till shows it on the member panel and
the receipt ("Review written: +50", "Points used online: 300"). An answer: tolerant."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

ActivityKind = Literal["purchase", "refund", "redemption", "event"]
PER_MEMBER = 5  # the newest this many of a member's channel posts travel with the member


class ChannelActivity(Struct, gc=False):
    member_id: str
    channel_id: str
    kind: str  # purchase, refund, redemption, event (an unknown kind is skipped by the till)
    ref: str  # the channel's own id (order, refund, redemption or event id)
    points: int  # what it did to the member's points (the sum of its entries)
    amount_minor: int  # the order's total or the money refunded; 0 otherwise
    occurred_at: str
    action: str | None = None  # an event's action
