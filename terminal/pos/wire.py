"""The till API's payloads: typed structs, strict for requests (unknown fields, wrong types
and out-of-range values are refused before any rule runs) and the source of the OpenAPI
document's schemas (terminal/pos/openapi.py)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

# An id as a POS writes it: letters, digits and a few separators, never a control character.
PosId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+\Z")]
Code = Annotated[str, Meta(min_length=1, max_length=512)]
Sku = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+\Z")]
Category = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+\Z")]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}\Z")]
Minor = Annotated[int, Meta(ge=0, le=10**15)]
Points = Annotated[int, Meta(ge=0, le=10**9)]


class Request(msgspec.Struct, forbid_unknown_fields=True):
    pass


class Answer(msgspec.Struct):
    pass


class IdentifyRequest(Request):
    """A member as the POS has it: card number (with or without spaces), member id, phone
    number or a scanned code (an app's signed code too)."""

    code: Code


class Line(Request):
    sku: Sku
    amount_minor: Minor
    category: Category = "general"


class SaleRequest(Request):
    pos_sale_id: PosId
    member: Code  # as in IdentifyRequest
    currency: Currency
    total_minor: Minor
    lines: Annotated[list[Line], Meta(max_length=500)] = []
    reward_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    payment_points: Points = 0
    cashier: Annotated[str, Meta(min_length=1, max_length=40)] | None = None


class PreviewRequest(Request):
    """A basket before payment: what it would earn and cost; nothing is recorded."""

    member: Code
    currency: Currency
    total_minor: Minor
    lines: Annotated[list[Line], Meta(max_length=500)] = []
    reward_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    payment_points: Points = 0
    cashier: Annotated[str, Meta(min_length=1, max_length=40)] | None = None


class RefundLine(Request):
    sku: Sku
    amount_minor: Minor


class RefundRequest(Request):
    pos_refund_id: PosId  # the POS's id of this refund: a retry never refunds twice
    pos_sale_id: PosId  # the sale it refunds, by the POS's id
    lines: Annotated[list[RefundLine], Meta(max_length=500)] | None = None  # None: all left
    cashier: Annotated[str, Meta(min_length=1, max_length=40)] | None = None


class Balance(Answer):
    available: int
    pending: int
    pending_release_at: str | None
    expiring_points: int
    expiring_at: str | None
    tier: str
    includes_offline: bool
    as_of: str | None


class Member(Answer):
    member_id: str
    display_name: str
    language: str
    balance: Balance


class Reward(Answer):
    reward_id: str
    name: str
    cost_points: int
    effect: str
    affordable: bool


class PointsPayment(Answer):
    points: int
    value_minor: int
    min_points: int
    max_points: int
    max_percent: int


class Redeemable(Answer):
    member_id: str
    available: int
    currency: str
    rewards: list[Reward]
    points_payment: PointsPayment | None


class Earned(Answer):
    reason: str
    label: str
    points: int


class LoyaltyBlock(Answer):
    """What to print or show: the figures, and the same as text lines in the member's
    language at the printer's width."""

    language: str
    earned: list[Earned]
    points_earned: int
    points_redeemed: int
    balance_before: int | None
    balance: Balance
    lines: list[str]


class SaleAnswer(Answer):
    pos_sale_id: str
    receipt_no: str
    member_id: str
    currency: str
    total_minor: int
    discount_minor: int
    payment_minor: int
    paid_minor: int
    reward_id: str | None
    loyalty: LoyaltyBlock


class PreviewAnswer(Answer):
    """What the basket would earn and cost if sold now (nothing recorded; the sale itself may
    still differ if the balance changes before it)."""

    member_id: str
    currency: str
    total_minor: int
    discount_minor: int
    payment_minor: int
    paid_minor: int
    reward_id: str | None
    earned: list[Earned]
    points_earned: int
    points_redeemed: int
    balance_after: int


class RefundAnswer(Answer):
    pos_refund_id: str
    pos_sale_id: str
    receipt_no: str
    refund_of: str
    amount_minor: int
    points_reversed: int
    points_returned: int
    loyalty: LoyaltyBlock


class Problem(Answer):
    """Every refusal: a stable code, its parameters and the message in the asked language."""

    code: str
    message: str
    params: dict[str, str] = {}
