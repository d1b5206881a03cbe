"""The till's state as the shopper may see it: display views built from the app's values, in
the member's language (the one place that translates for display/, which never does).

Pure functions of the program, the member's figures and a translator: the feed
(terminal/shopper_feed.py) calls them off the UI thread."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from display.text import first_name
from display.view import AskPart, BasketPart, Figure, MemberCard, RewardRow, SaleEnd, ShopperView
from loyalty.balance import Balance, last_day
from loyalty.offers import MemberOffer
from loyalty.program import Program, localised
from loyalty.referrals import shown as referral_shown
from loyalty.sales import SaleResult
from loyalty.terms import Terms
from terminal.i18n import Translator, translator
from terminal.tier_text import next_tier


@dataclass(frozen=True, slots=True)
class Shopper:
    """Who is being served, as far as the display needs: their language, first name and
    figures (never their phone, card or id)."""

    language: str
    display_name: str
    balance: Balance
    offers: tuple[MemberOffer, ...] = ()  # their personal offers in their period now
    referral_code: str = ""  # their own, to give to friends (loyalty/referrals.py)


def _frame(t: Translator, program: Program) -> dict[str, str]:
    return {
        "lang": t.lang,
        "direction": "rtl" if t.right_to_left else "ltr",
        "program": localised(program.name, t.lang),
    }


def idle(program: Program, language: str) -> ShopperView:
    t = translator(language)
    return ShopperView("idle", headline=t("display.idle.headline"), **_frame(t, program))  # type: ignore[arg-type]


def card(program: Program, shopper: Shopper, now: dt.datetime) -> MemberCard:
    t = translator(shopper.language)
    lang = t.lang
    b = shopper.balance
    tz = program.timezone
    tier = localised(program.tier(b.provisional_tier_id).name, lang)
    first = first_name(shopper.display_name)  # as the display cuts it, so the greeting agrees
    figures = [Figure(t("display.member.available"), t.number(b.available))]
    if b.pending:
        when = t.date(b.pending_release_at, tz) if b.pending_release_at else "—"
        figures.append(Figure(t("display.member.pending", date=when), t.number(b.pending)))
    if b.expiring_points and b.expiring_at:
        day = t.date(last_day(b.expiring_at, tz))
        figures.append(Figure(t("display.member.expiring", date=day), t.number(b.expiring_points)))
    for o in shopper.offers:
        if o.left:
            name = localised(o.offer.name, lang)
            label = t("display.member.offer", offer=name, date=t.date(o.offer.ends))
            figures.append(Figure(label, t("display.member.offer_left", left=t.number(o.left))))
    if shopper.referral_code and program.referrals is not None:
        code = referral_shown(shopper.referral_code)
        figures.append(Figure(t("display.member.referral_code"), code))
    progress, percent = t("display.member.top_tier"), 100
    if gap := next_tier(t, program, b, lang):
        target, amount = gap
        progress = t("display.member.progress", amount=amount, tier=target)
        whole = b.tier_progress + b.to_next_tier
        percent = 100 * b.tier_progress // whole if whole > 0 else 0
    return MemberCard(
        first_name=first,
        greeting=t("display.member.greeting", name=first),
        tier=t("display.member.tier", tier=tier),
        progress=progress,
        progress_percent=percent,
        figures=tuple(figures),
    )


def member(program: Program, shopper: Shopper, now: dt.datetime) -> ShopperView:
    t = translator(shopper.language)
    return ShopperView("member", member=card(program, shopper, now), **_frame(t, program))  # type: ignore[arg-type]


def _reason(t: Translator, program: Program, reason: str, shopper: Shopper) -> str:
    kind, _, ident = reason.partition(":")
    if kind == "offer":
        names = {o.offer.offer_id: o.offer.name for o in shopper.offers}
        name = localised(names[ident], t.lang) if ident in names else ident
        return t("display.reason.offer", offer=name)
    if kind == "promo":
        promo = next((p for p in program.promotions if p.id == ident), None)
        return localised(promo.name, t.lang) if promo else t("display.reason.base")
    if kind == "tier":
        return t("display.reason.tier", tier=localised(program.tier(ident).name, t.lang))
    return t("display.reason.base")


def basket(program: Program, shopper: Shopper, result: SaleResult, now: dt.datetime) -> ShopperView:
    """While the basket is keyed: what it earns by reason, and the rewards the member can
    afford now (★), the one picked for this basket marked."""
    t = translator(shopper.language)
    b = shopper.balance
    picked = result.pricing.reward.id if result.pricing.reward else None
    rows = []
    for reward in program.rewards:
        if reward.tiers and b.tier_id not in reward.tiers:
            continue  # not this member's to have: not shown to them
        rows.append(
            RewardRow(
                name=localised(reward.name, t.lang),
                cost=t.plural("app.points", reward.cost_points),
                affordable=reward.cost_points <= b.available,
                picked=reward.id == picked,
            )
        )
    rows.sort(key=lambda r: not r.affordable)
    part = BasketPart(
        heading=t("display.basket.heading"),
        earns=tuple(
            Figure(_reason(t, program, e.reason, shopper), t.number(e.points))
            for e in result.earned
        ),
        total=Figure(t("display.basket.total"), t.number(result.points_earned)),
        rewards_heading=t("display.basket.rewards"),
        rewards=tuple(rows),
    )
    return ShopperView(
        "basket",
        member=card(program, shopper, now),
        basket=part,
        **_frame(t, program),  # type: ignore[arg-type]
    )


def done(
    program: Program, language: str, result: SaleResult, qr_url: str, blank_after_s: float
) -> ShopperView:
    """The sale is made: earned, redeemed, the new balance, the link to their status."""
    t = translator(language)
    figures = [Figure(t("display.end.earned"), t.number(result.points_earned))]
    if result.pricing.redeemed_points:
        figures.append(Figure(t("display.end.redeemed"), t.number(result.pricing.redeemed_points)))
    figures.append(Figure(t("display.end.balance"), t.number(result.after.available)))
    end = SaleEnd(
        heading=t("display.end.heading"),
        figures=tuple(figures),
        qr_url=qr_url.replace("{lang}", t.lang),
        qr_caption=t("display.end.qr") if qr_url else "",
    )
    return ShopperView("done", end=end, blank_after_s=blank_after_s, **_frame(t, program))  # type: ignore[arg-type]


def ask_phone(program: Program, language: str, session: str, retry: bool = False) -> ShopperView:
    """The shopper may type their phone number to check in (display/touch.py); ``retry``:
    what they typed before was no phone number."""
    t = translator(language)
    ask = AskPart(
        kind="phone",
        session=session,
        title=t("display.ask.phone_title"),
        hint=t("display.ask.phone_hint"),
        ok=t("display.ask.ok"),
        cancel=t("display.ask.clear"),
        status=t("display.ask.invalid") if retry else "",
        sent=t("display.ask.sent"),
        malformed=t("display.ask.invalid"),
        too_many=t("display.ask.too_many"),
    )
    return ShopperView("ask", ask=ask, **_frame(t, program))  # type: ignore[arg-type]


def ask_terms(program: Program, language: str, session: str, terms: Terms) -> ShopperView:
    """The program's terms, for the shopper to accept (or decline) to enrol."""
    t = translator(language)
    name = localised(program.name, t.lang)
    ask = AskPart(
        kind="terms",
        session=session,
        title=t("display.ask.terms_title", program=name),
        hint=t("display.ask.terms_hint"),
        terms=localised(terms.text, t.lang),
        # Marked left to right: "2026-11" in a Persian line would read "11-2026".
        version=t("display.ask.terms_version", version=f"\u200e{terms.version}\u200e"),
        ok=t("display.ask.accept"),
        cancel=t("display.ask.decline"),
        sent=t("display.ask.terms_sent"),
        too_many=t("display.ask.too_many"),
    )
    return ShopperView("ask", ask=ask, **_frame(t, program))  # type: ignore[arg-type]
