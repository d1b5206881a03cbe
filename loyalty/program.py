"""The loyalty program: a versioned TOML document turned into frozen values.

Every field is checked on load; a bad document raises ProgramError naming the file, the field
(a dotted path such as ``rewards[2].cost_points``) and what was wrong, so head office can fix it
and the till keeps the program it had. The rules that use these values are in rules.py.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from loyalty import tomlsafe
from loyalty.engagement import EngagementRule
from loyalty.engagement import parse as parse_engagement
from loyalty.errors import ProgramError
from loyalty.money import MINOR_UNITS
from loyalty.referrals import ReferralRules, read_rules
from loyalty.terms import Terms, read_terms

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How often a promotion may pay one member: on every sale that qualifies, once ever, or once a
# year (the year of the birthday the window matched, else the sale's calendar year, shop time).
PromotionScope = Literal["per_sale", "once_per_member", "once_per_year"]
SCOPES: tuple[str, ...] = ("per_sale", "once_per_member", "once_per_year")
# The scopes each trigger allows; a triggered promotion must name its scope (no default).
_TRIGGER_SCOPES: dict[str, tuple[str, ...]] = {
    "always": SCOPES,
    "birthday": ("once_per_year", "once_per_member"),
    "first_purchase": ("once_per_member",),
}
RewardEffect = Literal["fixed_discount", "percent_discount", "free_item", "donation", "experience"]
REWARD_EFFECTS: tuple[str, ...] = (
    "fixed_discount",
    "percent_discount",
    "free_item",
    "donation",
    "experience",
)

# A text in several languages: {"en": "Gold", "el": "Χρυσό"}; English is required.
Localised = Mapping[str, str]


def localised(text: Localised, lang: str) -> str:
    return text.get(lang) or text["en"]


@dataclass(frozen=True, slots=True)
class EarnRule:
    points: int  # this many points ...
    per_minor: int  # ... per this much eligible spend in minor units
    rounding: Literal["down", "half_up"]
    excluded_categories: frozenset[str]


@dataclass(frozen=True, slots=True)
class Tier:
    id: str
    name: Localised
    threshold: int  # qualifying spend (minor units) or points, per TierRule.measure
    multiplier_percent: int  # 150 = earn 1.5x base


@dataclass(frozen=True, slots=True)
class TierRule:
    measure: Literal["spend", "points"]
    window: Literal["rolling", "calendar_year"]
    window_days: int


@dataclass(frozen=True, slots=True)
class Promotion:
    id: str
    name: Localised
    kind: Literal["multiplier", "bonus"]
    multiplier_percent: int  # for kind == multiplier: 200 = double points
    bonus_points: int  # for kind == bonus
    trigger: Literal["always", "birthday", "first_purchase"]
    starts: dt.date | None
    ends: dt.date | None  # inclusive
    weekdays: frozenset[int]  # 0 = Monday; empty = every day
    categories: frozenset[str]  # empty = every eligible category
    min_spend_minor: int
    stackable: bool
    birthday_window_days: int
    scope: PromotionScope = "per_sale"

    @property
    def once(self) -> bool:
        return self.scope != "per_sale"


@dataclass(frozen=True, slots=True)
class Reward:
    id: str
    name: Localised
    cost_points: int
    effect: RewardEffect
    amount_minor: int  # fixed discount, free item's value, donation amount
    percent: int  # percent discount
    cap_minor: int  # percent discount's cap (0 = none)
    sku: str  # free item
    charity: str  # donation's recipient
    min_basket_minor: int
    tiers: frozenset[str]  # empty = every tier


@dataclass(frozen=True, slots=True)
class PointsPayment:
    points: int  # this many points ...
    value_minor: int  # ... pay this much
    min_points: int
    max_points: int
    max_percent: int  # of the basket after rewards


@dataclass(frozen=True, slots=True)
class Expiry:
    policy: Literal["never", "after_months", "end_of_period"]
    months: int
    period: Literal["year", "quarter"]
    periods: int


@dataclass(frozen=True, slots=True)
class OfflinePolicy:
    member_allowance_points: int
    terminal_budget_points: int
    max_snapshot_age: dt.timedelta
    manager_override: bool
    override_max_points: int


@dataclass(frozen=True, slots=True)
class Limits:
    """The largest sale (its basket total) and the largest points of one ledger entry a till
    may record: a barcode scanned into the total field is refused at the till instead of
    becoming trillions of points. Both stay inside the sync protocol's own bounds, so nothing a
    till records is refused by head office for its size."""

    max_sale_minor: int = 10_000_000  # 100,000.00 in a currency of two decimals
    max_entry_points: int = 10_000_000


_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Program:
    version: str
    name: Localised
    currency: str
    minor_units: int
    timezone: ZoneInfo
    earn: EarnRule
    tier_rule: TierRule
    tiers: tuple[Tier, ...]  # ascending threshold; the first is where every member starts
    promotions: tuple[Promotion, ...]
    rewards: tuple[Reward, ...]
    points_payment: PointsPayment | None
    pending_days: int
    expiry: Expiry
    offline: OfflinePolicy
    refund_when_spent: Literal["allow_negative", "cap_at_available"]
    # What a refund does to the tier's qualifying spend (or points): "reverse" takes back what
    # the refunded part of the sale counted (the tier can drop); "keep" leaves it counted.
    refund_qualifying: Literal["reverse", "keep"]
    document: str  # the TOML text, kept so the program can be stored and re-read exactly
    # The country phone numbers are read for when a till has none of its own ("PL"): for a
    # chain in one country. A till's own (``till init --country``) wins.
    country: str | None = None
    limits: Limits = Limits()
    engagement: tuple[EngagementRule, ...] = ()  # loyalty/engagement.py
    referrals: ReferralRules | None = None  # [referrals]: none, no referral is credited
    terms: Terms | None = None  # what a shopper accepts to enrol (loyalty/terms.py)

    def reward(self, reward_id: str) -> Reward | None:
        return next((r for r in self.rewards if r.id == reward_id), None)

    def tier(self, tier_id: str | None) -> Tier:
        return next((t for t in self.tiers if t.id == tier_id), self.tiers[0])

    def promotion(self, promotion_id: str) -> Promotion | None:
        return next((p for p in self.promotions if p.id == promotion_id), None)

    def engagement_rule(self, action: str) -> EngagementRule | None:
        return next((r for r in self.engagement if r.action == action), None)


# No amount, count or points in a program comes near this (the protocol's bound on points);
# beyond it sums overflow SQLite's 64-bit integers and durations overflow timedelta.
MAX_INTEGER = 10**12
MAX_DAYS = 3660


class _Reader:
    """Reads typed fields out of a TOML table, raising ProgramError with the field's path."""

    def __init__(self, source: str, data: Mapping[str, Any], path: str = "") -> None:
        self.source = source
        self.data = data
        self.path = path

    def fail(self, field: str, problem: str, **params: Any) -> ProgramError:
        return ProgramError(self.source, f"{self.path}{field}", problem, **params)

    def sub(self, field: str, required: bool = True) -> _Reader:
        value = self.data.get(field)
        if value is None:
            if required:
                raise self.fail(field, "missing")
            value = {}
        if not isinstance(value, Mapping):
            raise self.fail(field, "not_a_table")
        return _Reader(self.source, value, f"{self.path}{field}.")

    def items(self, field: str) -> list[_Reader]:
        value = self.data.get(field, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.fail(field, "not_a_list_of_tables")
        return [_Reader(self.source, v, f"{self.path}{field}[{i}].") for i, v in enumerate(value)]

    def text(self, field: str, default: str | None = None, choices: tuple[str, ...] = ()) -> str:
        value = self.data.get(field, default)
        if value is None:
            raise self.fail(field, "missing")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "not_text")
        if choices and value not in choices:
            raise self.fail(field, "not_one_of", choices=", ".join(choices), value=value)
        return value

    def integer(
        self, field: str, default: int | None = None, minimum: int = 0, maximum: int = MAX_INTEGER
    ) -> int:
        value = self.data.get(field, default)
        if value is None:
            raise self.fail(field, "missing")
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(field, "not_an_integer", value=repr(value))
        if value < minimum:
            raise self.fail(field, "below_minimum", minimum=minimum, value=value)
        if value > maximum:
            raise self.fail(field, "above_maximum", maximum=maximum, value=value)
        return value

    def flag(self, field: str, default: bool) -> bool:
        value = self.data.get(field, default)
        if not isinstance(value, bool):
            raise self.fail(field, "not_true_or_false", value=repr(value))
        return value

    def date(self, field: str) -> dt.date | None:
        value = self.data.get(field)
        if value is None:
            return None
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise self.fail(field, "not_a_date", value=repr(value))
        return value

    def words(self, field: str) -> frozenset[str]:
        value = self.data.get(field, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(field, "not_a_list_of_text")
        return frozenset(value)

    def localised(self, field: str) -> Localised:
        value = self.data.get(field)
        if isinstance(value, str) and value.strip():
            return {"en": value}
        if not isinstance(value, Mapping) or not isinstance(value.get("en"), str):
            raise self.fail(field, "needs_english_text")
        if not all(isinstance(v, str) and v.strip() for v in value.values()):
            raise self.fail(field, "not_text")
        return dict(value)


def parse_program(text: str, source: str = "<program>") -> Program:
    """Parse and check a program document. Raises ProgramError; never returns half a program."""
    try:
        data = tomlsafe.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProgramError(source, "(document)", "not_toml", detail=str(exc)) from None
    except tomlsafe.TooDeep:
        raise ProgramError(
            source, "(document)", "too_deeply_nested", limit=tomlsafe.MAX_DEPTH
        ) from None
    root = _Reader(source, data)
    head = root.sub("program")
    currency = head.text("currency")
    if currency in MINOR_UNITS:
        digits = head.integer("minor_units", MINOR_UNITS[currency], maximum=4)
    else:
        digits = head.integer("minor_units", maximum=4)
    try:
        timezone = ZoneInfo(head.text("timezone"))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: zoneinfo opens the name as a file under tzdata; a name longer than a file
        # name may be ("File name too long") or naming a folder ends there, not in its checks.
        raise head.fail(
            "timezone", "unknown_time_zone", value=str(head.data["timezone"])[:64]
        ) from None
    country = head.data.get("country")
    if country is not None and (
        not isinstance(country, str) or country not in phonenumbers.SUPPORTED_REGIONS
    ):
        raise head.fail("country", "unknown_country", value=str(country)[:10])

    earn = root.sub("earn")
    earn_rule = EarnRule(
        points=earn.integer("points", minimum=0),
        per_minor=earn.integer("per_minor", minimum=1),
        rounding=earn.text("rounding", "down", ("down", "half_up")),  # type: ignore[arg-type]
        excluded_categories=earn.words("excluded_categories"),
    )
    tier_rule_r = root.sub("tier_rule")
    tier_rule = TierRule(
        measure=tier_rule_r.text("measure", "spend", ("spend", "points")),  # type: ignore[arg-type]
        window=tier_rule_r.text("window", "rolling", ("rolling", "calendar_year")),  # type: ignore[arg-type]
        window_days=tier_rule_r.integer("window_days", 365, minimum=1, maximum=MAX_DAYS),
    )
    tiers = tuple(_tier(r) for r in root.items("tiers"))
    _check_tiers(root, tiers)
    promotions = tuple(_promotion(r) for r in root.items("promotions"))
    rewards = tuple(_reward(r, {t.id for t in tiers}) for r in root.items("rewards"))
    _unique(root, "promotions", [p.id for p in promotions])
    _unique(root, "rewards", [r.id for r in rewards])

    payment = None
    if "points_payment" in data:
        pp = root.sub("points_payment")
        payment = PointsPayment(
            points=pp.integer("points", minimum=1),
            value_minor=pp.integer("value_minor", minimum=1),
            min_points=pp.integer("min_points", 0),
            max_points=pp.integer("max_points", minimum=1),
            max_percent=pp.integer("max_percent", 100, minimum=1),
        )
        if payment.max_percent > 100:
            raise pp.fail("max_percent", "above_maximum", maximum=100, value=payment.max_percent)
        if payment.min_points > payment.max_points:
            raise pp.fail("min_points", "above_maximum", maximum=payment.max_points,
                          value=payment.min_points)  # fmt: skip

    exp = root.sub("expiry", required=False)
    expiry = Expiry(
        policy=exp.text("policy", "never", ("never", "after_months", "end_of_period")),  # type: ignore[arg-type]
        months=exp.integer("months", 0, maximum=1200),
        period=exp.text("period", "year", ("year", "quarter")),  # type: ignore[arg-type]
        periods=exp.integer("periods", 1, minimum=1, maximum=1200),
    )
    if expiry.policy == "after_months" and expiry.months < 1:
        raise exp.fail("months", "below_minimum", minimum=1, value=expiry.months)

    off = root.sub("offline")
    offline = OfflinePolicy(
        member_allowance_points=off.integer("member_allowance_points"),
        terminal_budget_points=off.integer("terminal_budget_points"),
        max_snapshot_age=dt.timedelta(
            hours=off.integer("max_snapshot_age_hours", minimum=1, maximum=24 * MAX_DAYS)
        ),
        manager_override=off.flag("manager_override", False),
        override_max_points=off.integer("override_max_points", 0),
    )
    refunds = root.sub("refunds", required=False)
    lim = root.sub("limits", required=False)
    limits = Limits(
        max_sale_minor=lim.integer("max_sale_minor", _LIMITS.max_sale_minor, minimum=1),
        max_entry_points=lim.integer("max_entry_points", _LIMITS.max_entry_points, minimum=1),
    )
    return Program(
        version=head.text("version"),
        name=head.localised("name"),
        currency=currency,
        minor_units=digits,
        timezone=timezone,
        earn=earn_rule,
        tier_rule=tier_rule,
        tiers=tiers,
        promotions=promotions,
        rewards=rewards,
        points_payment=payment,
        pending_days=root.sub("pending", required=False).integer("days", 0, maximum=MAX_DAYS),
        expiry=expiry,
        offline=offline,
        refund_when_spent=refunds.text(  # type: ignore[arg-type]
            "when_points_spent", "allow_negative", ("allow_negative", "cap_at_available")
        ),
        refund_qualifying=refunds.text(  # type: ignore[arg-type]
            "qualifying", "reverse", ("reverse", "keep")
        ),
        document=text,
        country=country,
        limits=limits,
        engagement=parse_engagement(root, limits.max_entry_points),
        referrals=read_rules(root.sub("referrals")) if "referrals" in data else None,
        terms=read_terms(root.sub("terms", required=False)),
    )


def load_program(path: str) -> Program:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ProgramError(path, "(file)", "unreadable", detail=exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise ProgramError(path, "(file)", "not_utf8") from None
    return parse_program(text, path)


def _tier(r: _Reader) -> Tier:
    return Tier(
        id=r.text("id"),
        name=r.localised("name"),
        threshold=r.integer("threshold"),
        multiplier_percent=r.integer("multiplier_percent", 100, minimum=100),
    )


def _check_tiers(root: _Reader, tiers: tuple[Tier, ...]) -> None:
    if not tiers:
        raise root.fail("tiers", "missing")
    if tiers[0].threshold != 0:
        raise root.fail("tiers[0].threshold", "first_tier_must_start_at_zero")
    for i in range(1, len(tiers)):
        if tiers[i].threshold <= tiers[i - 1].threshold:
            raise root.fail(f"tiers[{i}].threshold", "not_ascending")
    _unique(root, "tiers", [t.id for t in tiers])


def _unique(root: _Reader, field: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            raise root.fail(f"{field}[{i}].id", "duplicate_id", value=ident)
        seen.add(ident)


def _promotion(r: _Reader) -> Promotion:
    kind = r.text("kind", choices=("multiplier", "bonus"))
    trigger = r.text("trigger", "always", ("always", "birthday", "first_purchase"))
    scope = _scope(r, kind, trigger)
    weekdays = r.words("weekdays")
    unknown = weekdays - set(WEEKDAYS)
    if unknown:
        raise r.fail("weekdays", "not_one_of", choices=", ".join(WEEKDAYS), value=min(unknown))
    promo = Promotion(
        id=r.text("id"),
        name=r.localised("name"),
        kind=kind,  # type: ignore[arg-type]
        multiplier_percent=r.integer("multiplier_percent", 100, minimum=100),
        bonus_points=r.integer("bonus_points", 0),
        trigger=trigger,  # type: ignore[arg-type]
        starts=r.date("starts"),
        ends=r.date("ends"),
        weekdays=frozenset(WEEKDAYS.index(d) for d in weekdays),
        categories=r.words("categories"),
        min_spend_minor=r.integer("min_spend_minor", 0),
        stackable=r.flag("stackable", False),
        birthday_window_days=r.integer("birthday_window_days", 0, maximum=366),
        scope=scope,  # type: ignore[arg-type]
    )
    if kind == "multiplier" and promo.multiplier_percent == 100:
        raise r.fail("multiplier_percent", "missing")
    if kind == "bonus" and promo.bonus_points == 0:
        raise r.fail("bonus_points", "missing")
    if promo.starts and promo.ends and promo.ends < promo.starts:
        raise r.fail("ends", "before_start")
    return promo


def _scope(r: _Reader, kind: str, trigger: str) -> str:
    """A promotion's scope. A triggered one (birthday, first purchase) must say it: paying a
    birthday bonus on every sale of the window, or once a year, or once ever are all readings
    of "birthday bonus", and a till and head office must not pick different ones. A multiplier
    applies to a sale's spend, so it is per sale."""
    if "scope" not in r.data and trigger != "always":
        raise r.fail("scope", "ambiguous_scope", trigger=trigger,
                     choices=", ".join(_TRIGGER_SCOPES[trigger]))  # fmt: skip
    scope = r.text("scope", "per_sale", SCOPES)
    allowed = _TRIGGER_SCOPES[trigger] if kind == "bonus" else ("per_sale",)
    if scope not in allowed:
        raise r.fail("scope", "scope_not_allowed", value=scope, choices=", ".join(allowed))
    return scope


def _reward(r: _Reader, tier_ids: set[str]) -> Reward:
    effect = r.text("effect", choices=REWARD_EFFECTS)
    reward = Reward(
        id=r.text("id"),
        name=r.localised("name"),
        cost_points=r.integer("cost_points", minimum=1),
        effect=effect,  # type: ignore[arg-type]
        amount_minor=r.integer("amount_minor", 0),
        percent=r.integer("percent", 0),
        cap_minor=r.integer("cap_minor", 0),
        sku=r.data.get("sku", "") if isinstance(r.data.get("sku", ""), str) else "",
        charity=r.data.get("charity", "") if isinstance(r.data.get("charity", ""), str) else "",
        min_basket_minor=r.integer("min_basket_minor", 0),
        tiers=r.words("tiers"),
    )
    if effect in ("fixed_discount", "free_item", "donation") and reward.amount_minor < 1:
        raise r.fail("amount_minor", "missing")
    if effect == "percent_discount" and not 1 <= reward.percent <= 100:
        raise r.fail("percent", "not_a_percent", value=reward.percent)
    if effect == "free_item" and not reward.sku:
        raise r.fail("sku", "missing")
    if effect == "donation" and not reward.charity:
        raise r.fail("charity", "missing")
    if reward.tiers - tier_ids:
        raise r.fail("tiers", "unknown_tier", value=min(reward.tiers - tier_ids))
    return reward
