"""Sales, refunds and enrolments as Receipt documents, in the member's language.

Every label comes from ``terminal/locale/<lang>/receipt.po`` and every number, amount and date
is formatted by terminal/i18n.py for the member's language; the printer package only lays the
document out and prints it. A receipt is built once, at the sale, and stored in the print queue,
so a reprint shows the balances of the day of the sale. A receipt that was never queued is
rebuilt from the sale record, its ledger entries and the balances stored with the sale
(``sale_figures``): the same figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loyalty import offers
from loyalty.balance import Balance, last_day
from loyalty.channel_activity import Activity
from loyalty.db import from_text
from loyalty.ledger import Entry
from loyalty.members import Member
from loyalty.program import Localised, Program, localised
from loyalty.referrals import shown as referral_shown
from loyalty.refunds import RefundResult
from loyalty.reports import DayReport
from loyalty.sales import SaleResult
from loyalty.till import Enrolment, Till
from printer import (
    Align,
    Block,
    Code,
    Direction,
    Emphasis,
    Line,
    PrinterError,
    Receipt,
    Row,
    Separator,
)
from terminal import channel_text
from terminal.i18n import Translator, translator
from terminal.shown import shown
from terminal.tier_text import next_tier

REDEEMING_KINDS = ("redeem", "donate")
# sync/headoffice/offer_uses.py's reasons: used up, not held, out of its period, above its value
OFFER_TAKEN_BACK = ("offer_used_up", "offer_not_held", "offer_out_of_period", "offer_above_value")


@dataclass(frozen=True, slots=True)
class Shop:
    """What the receipt says about where it was printed (from the till's config)."""

    name: str
    address: str = ""


@dataclass(frozen=True, slots=True)
class Facts:
    """What a sale or refund receipt shows, wherever it came from."""

    kind: str  # "sale" or "refund"
    receipt_no: str
    occurred_at: dt.datetime
    terminal_id: str
    cashier_id: str
    currency: str
    total_minor: int
    discount_minor: int
    donation_minor: int
    payment_points: int
    payment_minor: int
    paid_minor: int
    reward_id: str | None
    refund_of: str | None
    entries: tuple[Entry, ...]
    before: Balance | None  # None when rebuilt after the fact
    after: Balance
    balance_at: dt.datetime | None = None  # set when `after` is the balance at a later time
    # The names of the personal offers the till knows (loyalty/offers.py), by offer id.
    offer_names: Mapping[str, Localised] = field(default_factory=dict)
    # The member's newest channel activity the till knew of at the sale (terminal/channel_text).
    online: tuple[Activity, ...] = ()


def _local(t: Translator, when: dt.datetime, program: Program) -> str:
    return t.datetime(when, program.timezone)


def _day(t: Translator, when: dt.datetime | dt.date, program: Program) -> str:
    return t.date(when, program.timezone) if isinstance(when, dt.datetime) else t.date(when)


def _earn_label(
    t: Translator,
    program: Program,
    reason: str,
    lang: str,
    names: Mapping[str, Localised] | None = None,
) -> str:
    kind, _, ref = reason.partition(":")
    names = names or {}
    offer = localised(names[ref], lang) if ref in names else ref
    if kind == "offer":  # a personal offer of the member's
        return t("receipt.earn.offer", offer=offer)
    if kind in OFFER_TAKEN_BACK:  # head office took back a use it could not pay
        return t("receipt.earn.offer_taken_back", offer=offer)
    if kind == "base":
        return t("receipt.earn.base")
    if kind == "tier":
        return t("receipt.earn.tier", tier=localised(program.tier(ref).name, lang))
    if kind == "promo":
        promo = next((p for p in program.promotions if p.id == ref), None)
        if promo is not None:
            return localised(promo.name, lang)
    if kind == "already_paid":  # head office took back a once-only bonus paid twice
        promo = program.promotion(ref)
        return t(
            "receipt.earn.already_paid", promotion=localised(promo.name, lang) if promo else ref
        )
    if kind == "above_face_value":  # ... or the part of one paid above its value
        promo = program.promotion(ref)
        name = localised(promo.name, lang) if promo else ref
        return t("receipt.earn.above_face_value", promotion=name)
    if kind == "already_reversed":  # ... and gave back a refund's second taking of it
        return t("receipt.earn.already_reversed")
    if kind == "referral":  # head office's bonus for a referral (sync/headoffice/referrals.py)
        return t("receipt.earn.referral")
    if kind == "referral_refunded":  # ... taken back: the qualifying purchase was returned
        return t("receipt.earn.referral_refunded")
    return t("receipt.earn.other")


def _header(shop: Shop) -> list[Block]:
    blocks: list[Block] = [Line(shop.name, Emphasis.BOLD, Align.CENTER)]
    if shop.address:
        blocks.append(Line(shop.address, align=Align.CENTER))
    blocks.append(Separator("-"))
    return blocks


def _balance_blocks(
    t: Translator, program: Program, b: Balance, before: Balance | None, at: dt.datetime | None
) -> list[Block]:
    lang = t.lang
    out: list[Block] = []
    if before is not None:
        out.append(Row(t("receipt.previous_balance"), t.number(before.available)))
        out.append(Row(t("receipt.new_balance"), t.number(b.available), Emphasis.BOLD))
    else:
        when = _day(t, at, program) if at else ""
        out.append(Row(t("receipt.balance_on", date=when), t.number(b.available), Emphasis.BOLD))
    if b.pending:
        out.append(Row(t("receipt.pending"), t.number(b.pending)))
        if b.pending_release_at:
            release = _day(t, b.pending_release_at, program)
            out.append(Line(t("receipt.pending_release", date=release), align=Align.END))
    tier = program.tier(b.provisional_tier_id)
    out.append(Line(t("receipt.tier", tier=localised(tier.name, lang))))
    if gap := next_tier(t, program, b, lang):
        nxt, amount = gap
        if b.tier_deadline:
            label = t("receipt.to_next_tier_by", tier=nxt, date=_day(t, b.tier_deadline, program))
        else:
            label = t("receipt.to_next_tier", tier=nxt)
        out.append(Row(label, amount))
    if b.expiring_points and b.expiring_at:
        label = t(
            "receipt.expiring", date=_day(t, last_day(b.expiring_at, program.timezone), program)
        )
        out.append(Row(label, t.number(b.expiring_points)))
    if b.includes_offline:
        if b.as_of is not None:
            out.append(Line(t("receipt.as_of_sync", date=_local(t, b.as_of, program))))
        else:
            out.append(Line(t("receipt.never_synced")))
    return out


def _document(
    t: Translator, receipt_no: str, title: str, blocks: list[Block], kick: bool
) -> Receipt:
    return Receipt(
        receipt_no=receipt_no,
        language=t.lang,
        title=title,
        blocks=tuple(blocks),
        direction=Direction.RTL if t.right_to_left else Direction.LTR,
        copy_banner=t("receipt.copy"),
        kick_drawer=kick,
    )


def sale_or_refund(
    f: Facts, program: Program, member: Member, shop: Shop, kick_drawer: bool = True
) -> Receipt:
    """The receipt of a sale or a refund in the member's language (a sale's original opens
    the cash drawer where the printer has one)."""
    t = translator(member.language)
    lang = t.lang

    def money(minor: int) -> str:
        return t.money(minor, f.currency)

    title = t("receipt.title.sale" if f.kind == "sale" else "receipt.title.refund")
    blocks = _header(shop)
    blocks += [
        Row(t("receipt.till"), f.terminal_id),
        Row(t("receipt.cashier"), f.cashier_id),
        Row(t("receipt.number"), f.receipt_no),
        Line(_local(t, f.occurred_at, program)),
    ]
    if f.refund_of:
        blocks.append(Row(t("receipt.refund_of"), f.refund_of))
    blocks.append(Row(t("receipt.member"), shown(member.display_name)))
    blocks.append(Separator("-"))
    reward = program.reward(f.reward_id) if f.reward_id else None
    if f.kind == "sale":
        paid_less = f.paid_minor != f.total_minor
        emphasis = Emphasis.NORMAL if paid_less else Emphasis.LARGE
        blocks.append(Row(t("receipt.total"), money(f.total_minor), emphasis))
        if reward is not None and f.discount_minor:
            name = localised(reward.name, lang)
            blocks.append(Row(t("receipt.reward", reward=name), money(-f.discount_minor)))
        if reward is not None and f.donation_minor:
            if reward.charity:  # whom the donation goes to, and how much
                label = t("receipt.donation_to", charity=shown(reward.charity))
            else:
                label = t("receipt.donation", reward=localised(reward.name, lang))
            blocks.append(Row(label, money(f.donation_minor)))
        if f.payment_points:
            label = t("receipt.points_payment", points=t.number(f.payment_points))
            blocks.append(Row(label, money(-f.payment_minor)))
        if paid_less:
            blocks.append(Row(t("receipt.to_pay"), money(f.paid_minor), Emphasis.LARGE))
    else:
        blocks.append(Row(t("receipt.refunded"), money(f.total_minor), Emphasis.LARGE))
    blocks.append(Separator("-"))
    blocks += _points_blocks(t, f, program)
    blocks += [
        Separator("blank"),
        Code(f.receipt_no, f.receipt_no),
        Line(t("receipt.thanks"), align=Align.CENTER),
    ]
    return _document(t, f.receipt_no, title, blocks, kick=kick_drawer and f.kind == "sale")


def _points_blocks(t: Translator, f: Facts, program: Program) -> list[Block]:
    """What a sale or refund did to the member's points, and their balance after it."""
    lang = t.lang
    out: list[Block] = []
    earned = [e for e in f.entries if e.kind in ("earn", "bonus") and e.points]
    if earned:
        out.append(Line(t("receipt.earned"), Emphasis.BOLD))
        for e in earned:
            label = _earn_label(t, program, e.reason, lang, f.offer_names)
            out.append(Row(label, t.number(e.points)))
    # Each reward's points on a line that names it (an experience has no amount to show
    # otherwise); points paid as money are on the payment line above and in the total here.
    for e in f.entries:
        if e.kind in REDEEMING_KINDS and e.reward_id:
            got = program.reward(e.reward_id)
            name = localised(got.name, lang) if got else e.reward_id
            out.append(Row(t("receipt.redeemed_for", reward=name), t.number(e.points)))
    redeemed = -sum(e.points for e in f.entries if e.kind in REDEEMING_KINDS and not e.reward_id)
    if redeemed:
        out.append(Row(t("receipt.redeemed"), t.number(-redeemed)))
    taken = -sum(e.points for e in f.entries if e.kind == "reverse" and e.points < 0)
    given = sum(e.points for e in f.entries if e.kind == "reverse" and e.points > 0)
    if taken:
        out.append(Row(t("receipt.points_reversed"), t.number(-taken)))
    if given:
        out.append(Row(t("receipt.points_returned"), t.number(given)))
    out += _balance_blocks(t, program, f.after, f.before, f.balance_at)
    if f.online:  # already in the balance: what the member did on the channels lately
        out.append(Line(t("receipt.online.title"), Emphasis.BOLD))
        out += [Row(channel_text.label(t, program, a), channel_text.points(t, a)) for a in f.online]
    return out


def loyalty_block(f: Facts, program: Program, member: Member) -> Receipt:
    """Only the loyalty part of a sale's or refund's receipt, in the member's language: what
    a shop's POS prints under its own receipt (the till API, the printer bridge)."""
    t = translator(member.language)
    blocks: list[Block] = [
        Separator("-"),
        Row(t("receipt.member"), shown(member.display_name)),
        *_points_blocks(t, f, program),
        Separator("-"),
    ]
    return _document(t, f.receipt_no, "", blocks, kick=False)


def facts_from_store(till: Till, receipt_no: str, now: dt.datetime) -> tuple[Facts, Member]:
    """A stored sale's or refund's facts and its member (raises NotFound)."""
    record: dict[str, Any] = till.sale_record(receipt_no)
    member = till.member(str(record["member_id"]), denied_ok=True)
    figures = till.sale_figures(receipt_no)
    before, after, at = (
        (*figures, None) if figures else (None, till.balance(member.member_id, now), now)
    )
    facts = Facts(
        str(record["kind"]), receipt_no, from_text(str(record["occurred_at"])),
        str(record["terminal_id"]), str(record["cashier_id"]), str(record["currency"]),
        int(record["total_minor"]), int(record["discount_minor"]), int(record["donation_minor"]),
        int(record["payment_points"]), int(record["payment_minor"]), int(record["paid_minor"]),
        record["reward_id"], record["refund_of"], tuple(till.receipt_entries(receipt_no)),
        before, after, at, offers.names_at_till(till),
        channel_text.recent(till, member.member_id, from_text(str(record["occurred_at"]))),
    )  # fmt: skip
    return facts, member


def from_sale(result: SaleResult, req_cashier: str, till: Till, shop: Shop) -> Receipt:
    """Right after ``sales.sale``: the balances before and after this very sale."""
    program = till.program
    member = till.member(result.after.member_id, denied_ok=True)
    p = result.pricing
    facts = Facts(
        "sale", result.receipt_no, result.occurred_at, till.terminal_id, req_cashier,
        program.currency, p.total_minor, p.discount_minor, p.donation_minor, p.payment_points,
        p.payment_minor, p.paid_minor, p.reward.id if p.reward else None, None,
        result.entries, result.before, result.after, None, offers.names_at_till(till),
        channel_text.recent(till, member.member_id, result.occurred_at),
    )  # fmt: skip
    return sale_or_refund(facts, program, member, shop)


def from_refund(result: RefundResult, cashier: str, till: Till, shop: Shop) -> Receipt:
    program = till.program
    member = till.member(result.after.member_id, denied_ok=True)
    facts = Facts(
        "refund", result.receipt_no, result.occurred_at, till.terminal_id, cashier,
        program.currency, result.amount_minor, 0, 0, 0, 0, result.amount_minor, None,
        result.refund_of, result.entries, result.before, result.after, None,
        offers.names_at_till(till), channel_text.recent(till, member.member_id, result.occurred_at),
    )  # fmt: skip
    return sale_or_refund(facts, program, member, shop)


def from_store(till: Till, receipt_no: str, shop: Shop, now: dt.datetime) -> Receipt:
    """Rebuild a receipt from the sale record, its ledger entries and the balances stored with
    it (raises NotFound): the same figures as the day of the sale. Only a sale from before the
    till stored them shows the balance of ``now``, labelled with its date."""
    facts, member = facts_from_store(till, receipt_no, now)
    return sale_or_refund(facts, till.program, member, shop, kick_drawer=False)


def enrolment_no(card_number: str) -> str:
    return f"ENROL-{card_number}"


def from_enrolment(
    enrolment: Enrolment, balance: Balance, cashier: str, till: Till, shop: Shop, now: dt.datetime
) -> Receipt:
    """A welcome slip: the new member's card number as text and as a QR code to scan."""
    program = till.program
    t = translator(enrolment.member.language)
    title = t("receipt.title.enrolment")
    blocks = _header(shop)
    blocks += [
        Line(
            t(
                "receipt.welcome",
                name=shown(enrolment.member.display_name),
                program=localised(program.name, t.lang),
            ),
            align=Align.CENTER,
        ),
        Row(t("receipt.till"), till.terminal_id),
        Row(t("receipt.cashier"), cashier),
        Line(_local(t, now, program)),
        Row(t("receipt.card"), enrolment.card_number, Emphasis.BOLD),
    ]
    if enrolment.referred_by:
        blocks.append(Row(t("receipt.referred_by"), referral_shown(enrolment.referred_by)))
    blocks.append(Separator("-"))
    blocks += _balance_blocks(t, program, balance, None, now)
    if enrolment.member.referral_code and program.referrals is not None:
        code = referral_shown(enrolment.member.referral_code)
        blocks += [
            Separator("blank"),
            Row(t("receipt.referral_code"), code, Emphasis.BOLD),
            Line(t("receipt.referral_invite"), align=Align.CENTER),
        ]
    blocks += [
        Separator("blank"),
        Code(enrolment.card_number, enrolment.card_number),
        Line(t("receipt.thanks"), align=Align.CENTER),
    ]
    return _document(t, enrolment_no(enrolment.card_number), title, blocks, kick=False)


def day_report_no(report: DayReport) -> str:
    return f"DAY-{report.terminal_id}-{report.day.isoformat()}"


def from_day_report(
    report: DayReport, program: Program, shop: Shop, lang: str, now: dt.datetime
) -> Receipt:
    """The end-of-day slip (loyalty.reports.DayReport) in the till's language: totals, then
    one section per cashier, and what has not reached head office yet."""
    t = translator(lang)

    def money(minor: int) -> str:
        return t.money(minor, report.currency)

    title = t("receipt.title.day_report")
    blocks = _header(shop)
    blocks += [
        Row(t("receipt.till"), report.terminal_id),
        Row(t("receipt.day"), t.date(report.day)),
        Line(t("receipt.printed_at", when=_local(t, now, program))),
    ]
    if report.first_receipt and report.last_receipt:
        blocks.append(Line(t("receipt.report.receipts")))
        blocks.append(Line(f"{report.first_receipt} – {report.last_receipt}", align=Align.END))
    sections = [(None, report.cashiers)] + [(c.cashier_id, (c,)) for c in report.cashiers]
    for cashier_id, days in sections:
        blocks.append(Separator("-"))
        if cashier_id is not None:
            blocks.append(Line(t("receipt.report.cashier", cashier=cashier_id), Emphasis.BOLD))
        blocks += [
            Row(t("receipt.report.sales"), t.number(sum(c.sales for c in days))),
            Row(t("receipt.report.refunds"), t.number(sum(c.refunds for c in days))),
            Row(t("receipt.report.spend"), money(sum(c.spend_minor for c in days))),
            Row(t("receipt.report.issued"), t.number(sum(c.points_issued for c in days))),
            Row(t("receipt.redeemed"), t.number(sum(c.points_redeemed for c in days))),
            Row(t("receipt.points_reversed"), t.number(sum(c.points_reversed for c in days))),
        ]
        if cashier_id is None and len(report.cashiers) == 1:
            break  # one cashier: the totals are their section
    blocks += [
        Separator("="),
        Row(t("receipt.report.unsynced"), t.number(report.unsynced_entries), Emphasis.BOLD),
    ]
    return _document(t, day_report_no(report), title, blocks, kick=False)


def printer_problem(t: Translator, error: PrinterError) -> str:
    """A printer problem as the cashier reads it."""
    params = {k: str(v) for k, v in error.params.items()}
    key = error.key
    return t(key, **params) if t.has(key) else error.problem.value
