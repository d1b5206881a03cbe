"""A sale: earn, redeem a reward, pay with points; one transaction with its receipt number.

Everything a sale writes (the sale row, its ledger entries, its receipt number, and so the
member's balance) commits together or not at all; a refusal writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from loyalty import denylist, ledger, members, offers, policy, pos_sales, till_records
from loyalty.balance import Balance, compute, figures_json
from loyalty.db import from_text, set_meta, to_text
from loyalty.errors import BadInput, NotFound, Refused
from loyalty.ledger import Entry, NewEntry
from loyalty.policy import Authorisation, Override
from loyalty.pos_sales import PosRef
from loyalty.program import Program
from loyalty.rules import BasketLine, EarnLine, MemberContext, Pricing, earn, once_key, price
from loyalty.till import Till, _aware, check_cashier

MAX_LINES = 500


@dataclass(frozen=True, slots=True)
class SaleRequest:
    member_id: str
    cashier_id: str
    lines: tuple[BasketLine, ...]
    reward_id: str | None = None
    payment_points: int = 0
    authorisation: Authorisation | None = None
    override: Override | None = None
    pos: PosRef | None = None  # the POS's own sale id: recorded with the sale, once
    app_code: till_records.AppCode | None = None  # the member's app code: spent with the sale


@dataclass(frozen=True, slots=True)
class SaleResult:
    receipt_no: str
    occurred_at: dt.datetime
    pricing: Pricing
    earned: tuple[EarnLine, ...]
    entries: tuple[Entry, ...]
    before: Balance
    after: Balance
    mode: str  # how a redemption was allowed: none, online, offline, override

    @property
    def points_earned(self) -> int:
        return sum(line.points for line in self.earned)


def next_receipt_no(conn: object, till: Till) -> str:
    counter = int(till.db.meta("receipts_issued") or "0") + 1
    set_meta(conn, "receipts_issued", str(counter))  # type: ignore[arg-type]
    return f"{till.terminal_id}-{counter:06d}"


def headoffice_time(till: Till, now: dt.datetime) -> dt.datetime:
    """``now`` on head office's clock, as far as the till knows it (see Till.headoffice_time)."""
    return till.headoffice_time(now)


def preview(till: Till, req: SaleRequest, now: dt.datetime | None = None) -> SaleResult:
    """What the sale would do, without writing: for the cashier's screen before confirming."""
    return _sale(till, req, _aware(now), commit=False)


def sale(till: Till, req: SaleRequest, now: dt.datetime | None = None) -> SaleResult:
    return _sale(till, req, _aware(now), commit=True)


def _check(req: SaleRequest) -> None:
    check_cashier(req.cashier_id)
    if not req.lines or len(req.lines) > MAX_LINES:
        raise BadInput("empty_basket")
    if not isinstance(req.payment_points, int) or req.payment_points < 0:
        raise BadInput("negative_points", value=req.payment_points)
    if req.override is not None:
        check_cashier(req.override.manager_id)
        if not req.override.reason.strip():
            raise BadInput("reason_required")
    if req.authorisation is not None and req.authorisation.member_id != req.member_id:
        raise Refused("authorisation_for_another_member")


def _sale(till: Till, req: SaleRequest, now: dt.datetime, commit: bool) -> SaleResult:
    _check(req)
    program = till.program
    stamp = to_text(now)
    with till.db.write() if commit else till.db.read() as conn:
        if commit and req.pos is not None:
            pos_sales.check_new(conn, "sale", req.pos)
        member = members.get(conn, req.member_id)
        if member is None:
            raise NotFound("unknown_member", member=req.member_id[:40])
        denylist.refuse_denied(conn, member)
        if req.app_code is not None and till_records.app_code_spent(conn, req.app_code.code_id):
            raise Refused("app_code_spent")  # another sale (another process) used it first
        unacked = ledger.unacked_for_member(conn, member.member_id)
        before = compute(program, member, unacked, now)
        mine = offers.of_member(conn, member.offers, member.member_id, program, now)
        priced, personal = offers.personal_rewards(program, mine)  # at the member's own cost
        # The tier as of now: one whose calendar year has ended is not honoured offline.
        pricing = price(priced, req.lines, req.reward_id, req.payment_points, before.tier_id)
        limit = program.limits.max_sale_minor
        if pricing.total_minor > limit:
            raise BadInput("sale_too_large", total_minor=pricing.total_minor, limit_minor=limit,
                           currency=program.currency)  # fmt: skip
        redeem = pricing.redeemed_points
        mode = "none"
        if redeem:
            online = req.authorisation is not None and req.authorisation.points >= redeem
            decision = policy.decide(
                program.offline,
                redeem,
                before.available,
                0 if online else ledger.offline_redeemed(conn, member.member_id),
                0 if online else ledger.offline_redeemed(conn),
                before.as_of,
                headoffice_time(till, now),
                req.authorisation,
                req.override,
            )
            if not decision.allowed:
                assert decision.refusal is not None
                raise Refused(decision.refusal, decision.next_steps, points=redeem,
                              available=before.available, limit=decision.limit)  # fmt: skip
            mode = decision.mode
        bought = member.has_purchased or _bought_here(conn, member)
        # What this till paid, and what head office holds as paid by any till.
        paid = paid_once(conn, program, member.member_id, member.birthday) | member.once_paid
        context = MemberContext(before.tier_id, member.birthday, bought, paid, offers.usable(mine))
        earned = earn(program, req.lines, pricing.paid_minor, context, now)
        receipt_no = next_receipt_no(conn, till) if commit else "(preview)"
        new = _entries(member.member_id, receipt_no, pricing, earned, personal)
        check_entries(program, new)
        offline = mode != "online"
        if commit:
            conn.execute(
                "INSERT INTO sales (receipt_no, kind, terminal_id, member_id, cashier_id, "
                "occurred_at, currency, total_minor, discount_minor, donation_minor, "
                "payment_points, payment_minor, paid_minor, eligible_minor, lines_json, "
                "reward_id, refund_of, program_version, mode, hold_id, override_json) "
                "VALUES (?, 'sale', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
                (
                    receipt_no,
                    till.terminal_id,
                    member.member_id,
                    req.cashier_id,
                    stamp,
                    program.currency,
                    pricing.total_minor,
                    pricing.discount_minor,
                    pricing.donation_minor,
                    pricing.payment_points,
                    pricing.payment_minor,
                    pricing.paid_minor,
                    earned[0].eligible_minor if earned else 0,
                    json.dumps([[x.sku, x.category, x.amount_minor] for x in req.lines]),
                    pricing.reward.id if pricing.reward else None,
                    program.version,
                    mode,
                    req.authorisation.hold_id if req.authorisation else None,
                    json.dumps(
                        {"manager_id": req.override.manager_id, "reason": req.override.reason}
                    )
                    if req.override and mode == "override"
                    else None,
                ),  # fmt: skip
            )
            entries = ledger.append(
                conn, till.terminal_id, new, currency=program.currency,
                program_version=program.version, occurred_at=stamp, offline=offline,
                cashier_id=req.cashier_id,
            )  # fmt: skip
            after = compute(program, member, [*unacked, *entries], now)
            store_figures(conn, receipt_no, before, after)
            if req.pos is not None:
                pos_sales.record(conn, "sale", req.pos, receipt_no, stamp)
            if req.app_code is not None:
                code = req.app_code
                till_records.spend_app_code(
                    conn, code.code_id, member.member_id, receipt_no, code.valid_until, now
                )  # not spent before: checked above, in this write transaction
        else:
            entries = []
            after = _preview_after(program, member, unacked, new, now, till, req.cashier_id)
    return SaleResult(receipt_no, now, pricing, earned, tuple(entries), before, after, mode)


def store_figures(conn: object, receipt_no: str, before: Balance, after: Balance) -> None:
    """The balances the receipt prints, with the sale (a reprint shows these, not today's)."""
    conn.execute(  # type: ignore[attr-defined]
        "INSERT INTO sale_figures (receipt_no, figures_json) VALUES (?, ?)",
        (receipt_no, figures_json(before, after)),
    )


def check_entries(program: Program, new: Sequence[NewEntry]) -> None:
    """Nothing beyond the program's limits reaches the ledger (see ``Limits``)."""
    most, largest = program.limits.max_entry_points, program.limits.max_sale_minor
    for n in new:
        if abs(n.points) > most:
            raise BadInput("entry_too_large", points=n.points, limit=most)
        if abs(n.amount_minor) > largest:
            raise BadInput("sale_too_large", total_minor=abs(n.amount_minor),
                           limit_minor=largest, currency=program.currency)  # fmt: skip


def _bought_here(conn: object, member: members.Member) -> bool:
    row = conn.execute(  # type: ignore[attr-defined]
        "SELECT 1 FROM sales WHERE member_id = ? AND kind = 'sale' LIMIT 1", (member.member_id,)
    ).fetchone()
    return row is not None


def paid_once(
    conn: object, program: Program, member_id: str, birthday: str | None
) -> frozenset[str]:
    """The once-only promotions this till has paid the member (``rules.once_key``), reversed
    or not: one till never pays one twice. Another till's payment reaches this till with head
    office's snapshot (``Member.once_paid``); one it has not heard of yet is head office's
    to undo."""
    rows = conn.execute(  # type: ignore[attr-defined]
        "SELECT reason, occurred_at FROM ledger WHERE member_id = ? AND kind = 'bonus' "
        "AND reason LIKE 'promo:%'",
        (member_id,),
    ).fetchall()
    out: set[str] = set()
    for reason, occurred_at in rows:
        promo = program.promotion(reason.partition(":")[2])
        if promo is not None and promo.once:
            day = from_text(occurred_at).astimezone(program.timezone).date()
            key = once_key(promo, day, birthday)
            if key is not None:
                out.add(key)
    return frozenset(out)


def _entries(
    member_id: str,
    receipt_no: str,
    pricing: Pricing,
    earned: Sequence[EarnLine],
    personal: Mapping[str, str] | None = None,
) -> list[NewEntry]:
    out: list[NewEntry] = []
    personal = personal or {}  # reward id -> the personal offer that prices it
    reward = pricing.reward
    if reward is not None:
        kind = "donate" if reward.effect == "donation" else "redeem"
        amount = pricing.donation_minor if kind == "donate" else pricing.discount_minor
        # A personal offer's reward names the offer: head office counts its use.
        reason = (
            f"offer:{personal[reward.id]}" if reward.id in personal else f"reward:{reward.effect}"
        )
        out.append(NewEntry(member_id, kind, -reward.cost_points, amount, receipt_no,
                            reward_id=reward.id, reason=reason))  # fmt: skip
    if pricing.payment_points:
        out.append(NewEntry(member_id, "redeem", -pricing.payment_points, pricing.payment_minor,
                            receipt_no, reason="points_payment"))  # fmt: skip
    for line in earned:
        out.append(NewEntry(member_id, line.kind, line.points, line.eligible_minor, receipt_no,
                            reason=line.reason))  # fmt: skip
    return out


def _preview_after(
    program: object,
    member: members.Member,
    unacked: list[Entry],
    new: list[NewEntry],
    now: dt.datetime,
    till: Till,
    cashier_id: str,
) -> Balance:
    stamp = to_text(now)
    fake = [
        Entry(
            f"preview-{i}",
            till.terminal_id,
            0,
            n.member_id,
            n.kind,
            n.points,
            n.amount_minor,
            "",
            n.receipt_no,
            n.reverses,
            n.reward_id,
            "",
            stamp,
            True,
            cashier_id,
            n.reason,
            "",
            "",
        )  # fmt: skip
        for i, n in enumerate(new)
    ]
    return compute(till.program, member, [*unacked, *fake], now)
