"""The program's rules as pure functions: what a basket earns, what a reward or points payment
takes off, what a refund reverses. No storage and no clock: callers pass ``now``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from loyalty.errors import BadInput, Refused
from loyalty.program import Program, Promotion, Reward

# The one line of a basket keyed as its total alone (the till's total field, a POS that sends
# no lines): it earns as the program's general category and names no item.
TOTAL_ONLY_SKU = "BASKET"
TOTAL_ONLY_CATEGORY = "general"


def total_only(amount_minor: int) -> BasketLine:
    """The basket of a sale keyed as its total alone."""
    return BasketLine(TOTAL_ONLY_SKU, TOTAL_ONLY_CATEGORY, amount_minor)


@dataclass(frozen=True, slots=True)
class BasketLine:
    sku: str
    category: str
    amount_minor: int

    def __post_init__(self) -> None:
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise BadInput("amount_not_integer", value=repr(self.amount_minor))
        if self.amount_minor < 0:
            raise BadInput("negative_amount", value=self.amount_minor)
        if not self.sku or len(self.sku) > 64 or not self.category or len(self.category) > 64:
            raise BadInput("malformed_line", sku=self.sku[:64], category=self.category[:64])


@dataclass(frozen=True, slots=True)
class MemberContext:
    """What the rules need to know about the member (from the member cache)."""

    tier_id: str | None
    birthday: str | None  # "MM-DD", no year: all the till needs
    has_purchased: bool
    # The once-only promotions this member was already paid, as ``once_key`` gives them
    # ("welcome", "birthday:2026"): what this till's own ledger and head office say.
    paid_once: frozenset[str] = frozenset()
    # The member's personal offers with uses left today (loyalty.offers.usable): paid by the
    # promotions' rules, under the reason "offer:<id>".
    offers: tuple[Promotion, ...] = ()


@dataclass(frozen=True, slots=True)
class EarnLine:
    """One reason for points on a receipt: base, tier bonus, or a promotion."""

    kind: str  # ledger kind: "earn" (base, tier) or "bonus" (promotions)
    reason: str  # "base", "tier:<id>", "promo:<id>", "offer:<id>"
    points: int
    eligible_minor: int  # the spend this line was computed on


@dataclass(frozen=True, slots=True)
class Pricing:
    total_minor: int
    reward: Reward | None
    discount_minor: int  # what the reward takes off the basket
    donation_minor: int  # what the reward gives to charity (not off the basket)
    payment_points: int  # points used as payment
    payment_minor: int  # what those points paid
    paid_minor: int  # what the shopper pays in money: total - discount - payment

    @property
    def redeemed_points(self) -> int:
        return (self.reward.cost_points if self.reward else 0) + self.payment_points


def basket_total(lines: Sequence[BasketLine]) -> int:
    return sum(line.amount_minor for line in lines)


def price(
    program: Program,
    lines: Sequence[BasketLine],
    reward_id: str | None,
    payment_points: int,
    tier_id: str | None,
) -> Pricing:
    """Apply a reward and points as payment to a basket; refuse what the program does not allow."""
    total = basket_total(lines)
    if total <= 0:
        raise BadInput("empty_basket")
    reward = None
    discount = donation = 0
    if reward_id:
        reward = program.reward(reward_id)
        if reward is None:
            raise Refused("unknown_reward", reward=reward_id)
        tier = program.tier(tier_id).id
        if reward.tiers and tier not in reward.tiers:
            raise Refused("reward_not_for_tier", reward=reward.id, tier=tier)
        if total < reward.min_basket_minor:
            raise Refused(
                "basket_below_reward_minimum",
                reward=reward.id,
                minimum_minor=reward.min_basket_minor,
                currency=program.currency,
            )
        if reward.effect == "fixed_discount":
            discount = min(reward.amount_minor, total)
        elif reward.effect == "percent_discount":
            discount = total * reward.percent // 100
            if reward.cap_minor:
                discount = min(discount, reward.cap_minor)
        elif reward.effect == "free_item":
            # A basket keyed as its total alone cannot show the item: the cashier (or the POS)
            # vouches for it. Any basket that names its items must name this one; one line of
            # another item is no more the free coffee than two are.
            detailed = any(line.sku != TOTAL_ONLY_SKU for line in lines)
            if detailed and not any(line.sku == reward.sku for line in lines):
                raise Refused("reward_item_not_in_basket", reward=reward.id, sku=reward.sku)
            discount = min(reward.amount_minor, total)
        elif reward.effect == "donation":
            donation = reward.amount_minor
    payment_minor = 0
    if payment_points:
        payment_minor = _points_payment(program, payment_points, total - discount)
    return Pricing(
        total_minor=total,
        reward=reward,
        discount_minor=discount,
        donation_minor=donation,
        payment_points=payment_points,
        payment_minor=payment_minor,
        paid_minor=total - discount - payment_minor,
    )


def _points_payment(program: Program, points: int, basket_minor: int) -> int:
    pp = program.points_payment
    if pp is None:
        raise Refused("points_payment_not_offered")
    if points < 0:
        raise BadInput("negative_points", value=points)
    if points < pp.min_points:
        raise Refused("points_payment_below_minimum", minimum=pp.min_points)
    if points > pp.max_points:
        raise Refused("points_payment_above_maximum", maximum=pp.max_points)
    if points % pp.points:
        raise Refused("points_payment_not_a_multiple", step=pp.points)
    value = points // pp.points * pp.value_minor
    limit = basket_minor * pp.max_percent // 100
    if value > limit:
        raise Refused("points_payment_above_share", maximum_minor=limit, percent=pp.max_percent,
                      currency=program.currency)  # fmt: skip
    return value


def eligible_by_line(program: Program, lines: Sequence[BasketLine], paid: int) -> list[int]:
    """Each line's share of what was paid in money, 0 for excluded categories. Rewards and
    points payment reduce every line in proportion; flooring never adds spend."""
    total = basket_total(lines)
    excluded = program.earn.excluded_categories
    return [
        0 if line.category in excluded or total == 0 else line.amount_minor * paid // total
        for line in lines
    ]


def points_for(program: Program, spend_minor: int) -> int:
    """Base points for an eligible spend, rounded as the program says; 0 for no spend."""
    rule = program.earn
    numerator = spend_minor * rule.points
    if rule.rounding == "half_up":
        return (2 * numerator + rule.per_minor) // (2 * rule.per_minor)
    return numerator // rule.per_minor


def earn(
    program: Program,
    lines: Sequence[BasketLine],
    paid_minor: int,
    member: MemberContext,
    now: dt.datetime,
) -> tuple[EarnLine, ...]:
    """The points a sale earns, one line per reason, zero lines left out."""
    shares = eligible_by_line(program, lines, paid_minor)
    eligible = sum(shares)
    base = points_for(program, eligible)
    out: list[EarnLine] = []
    if base:
        out.append(EarnLine("earn", "base", base, eligible))
    tier = program.tier(member.tier_id)
    tier_bonus = base * (tier.multiplier_percent - 100) // 100
    if tier_bonus:
        out.append(EarnLine("earn", f"tier:{tier.id}", tier_bonus, eligible))
    today = now.astimezone(program.timezone).date()
    best_single: EarnLine | None = None
    candidates = [("promo", x) for x in program.promotions] + [("offer", x) for x in member.offers]
    for source, promo in candidates:
        if not _promotion_applies(promo, member, today):
            continue
        scope = sum(
            share
            for line, share in zip(lines, shares, strict=True)
            if not promo.categories or line.category in promo.categories
        )
        if scope == 0 or scope < promo.min_spend_minor:
            continue
        if promo.kind == "multiplier":
            points = points_for(program, scope) * (promo.multiplier_percent - 100) // 100
        else:
            points = promo.bonus_points
        if points <= 0:
            continue
        line = EarnLine("bonus", f"{source}:{promo.id}", points, scope)
        if promo.stackable:
            out.append(line)
        elif best_single is None or line.points > best_single.points:
            best_single = line
    if best_single is not None:
        out.append(best_single)
    return tuple(out)


def _promotion_applies(promo: Promotion, member: MemberContext, today: dt.date) -> bool:
    if promo.starts and today < promo.starts:
        return False
    if promo.ends and today > promo.ends:
        return False
    if promo.weekdays and today.weekday() not in promo.weekdays:
        return False
    if promo.trigger == "first_purchase" and member.has_purchased:
        return False
    if promo.trigger == "birthday" and not birthday_near(
        member.birthday, today, promo.birthday_window_days
    ):
        return False
    key = once_key(promo, today, member.birthday)
    return key is None or key not in member.paid_once


def once_key(promo: Promotion, day: dt.date, birthday: str | None) -> str | None:
    """What a once-only promotion paid on ``day`` (shop time) uses up: the promotion's id for
    once per member; with the year for once per year (the year of the birthday the window
    matched, so a birthday on 1 January celebrated on 30 December counts for the new year).
    None for a per-sale promotion. Head office uses the same key to find duplicates."""
    if promo.scope == "once_per_member":
        return promo.id
    if promo.scope == "once_per_year":
        year = day.year
        if promo.trigger == "birthday":
            year = birthday_year(birthday, day, promo.birthday_window_days) or year
        return f"{promo.id}:{year}"
    return None


def birthday_near(birthday: str | None, today: dt.date, window_days: int) -> bool:
    """Is ``today`` within ``window_days`` of the member's birthday ("MM-DD")? 29 February is
    celebrated on 28 February in other years."""
    return birthday_year(birthday, today, window_days) is not None


def birthday_year(birthday: str | None, today: dt.date, window_days: int) -> int | None:
    """The year of the birthday whose window ``today`` is in, or None."""
    if not birthday:
        return None
    try:
        month, day = (int(part) for part in birthday.split("-"))
    except ValueError:
        return None
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            date = dt.date(year, month, day)
        except ValueError:
            if (month, day) != (2, 29):
                return None
            date = dt.date(year, 2, 28)
        if abs((date - today).days) <= window_days:
            return year
    return None


def reversal(points_earned: int, already_reversed: int, refunded_cum: int, basis: int) -> int:
    """Points to reverse now for one earn line when a refund brings the refunded eligible spend
    to ``refunded_cum`` of ``basis``. Cumulative, so partial refunds never add up to more than
    was earned and a full refund reverses exactly all of it."""
    target = (
        points_earned
        if basis <= 0 or refunded_cum >= basis
        else (points_earned * refunded_cum // basis)
    )
    return max(0, min(points_earned, target) - already_reversed)
