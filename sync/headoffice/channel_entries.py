"""What a channel's purchase, refund and redemption store: the entries, planned by the
program's rules as a till's sale, refund and redemption would be (loyalty.rules), inside the
post's transaction (channels.py stores them). Engagement events are engagement.py's."""

from __future__ import annotations

import datetime as dt

from loyalty.db import from_text
from loyalty.errors import BadInput
from loyalty.rules import BasketLine, MemberContext, earn, once_key, reversal
from sync import channel_protocol as cp
from sync.headoffice import segments
from sync.headoffice.channels import Context, Planned, Post, claim_fact, member_row
from sync.headoffice.rows import ApiProblem


def purchase(ctx: Context, req: cp.ChannelPurchase) -> Post:
    """An order's points: base, tier and promotions, as at a till. A once-only promotion
    (welcome, first purchase, birthday) is claimed in ``once_paid`` first: one another till
    or channel was paid already is left out, not paid and taken back."""
    member_id, row = member_row(ctx, req.member_id)
    if row[0] == "blocked":
        raise ApiProblem(409, "member_blocked", member=member_id)
    total = sum(line.amount_minor for line in req.lines)
    if total <= 0:
        raise ApiProblem(422, "empty_order", order_id=req.order_id)
    if total > ctx.program.limits.max_sale_minor:
        raise ApiProblem(422, "order_too_large", limit_minor=ctx.program.limits.max_sale_minor,
                         total_minor=total)  # fmt: skip
    try:
        lines = [BasketLine(x.sku, x.category, x.amount_minor) for x in req.lines]
    except BadInput:  # the request's own bounds keep lines in the rules' bounds
        raise ApiProblem(422, "malformed_line") from None
    fact = f"order:{req.order_id}"
    claim_fact(ctx, fact, member_id, total, "")
    occurred = ctx.when(req.occurred_at)
    paid = frozenset(
        r[0] for r in ctx.tx.all("SELECT once_key FROM once_paid WHERE member_id = ?", (member_id,))
    )
    member = MemberContext(row[1], row[2], bool(row[3]), paid)
    when = from_text(occurred)
    day = when.astimezone(ctx.program.timezone).date().isoformat()
    segments.remember(ctx.tx, sorted({(member_id, x.category, day) for x in lines}))  # offers'
    out: list[Planned] = []
    for line in earn(ctx.program, lines, total, member, when):
        if line.kind == "bonus" and not _claim_once(ctx, member_id, fact, line.reason, when,
                                                    row[2]):  # fmt: skip
            continue
        out.append(Planned(line.reason, line.kind, line.points, line.reason,
                           amount_minor=line.eligible_minor))  # fmt: skip
    return Post(member_id, fact, req.order_id, req.order_id, occurred, out, total)


def _claim_once(
    ctx: Context, member_id: str, fact: str, reason: str, when: dt.datetime, birthday: str | None
) -> bool:
    """Whether a promotion's line may be paid: always for a per-sale one; a once-only one
    only if this order claims its key for the member first."""
    promo = ctx.program.promotion(reason.removeprefix("promo:"))
    if promo is None or not promo.once:
        return True
    key = once_key(promo, when.astimezone(ctx.program.timezone).date(), birthday)
    if key is None:
        return True
    return bool(
        ctx.tx.run(
            "INSERT INTO once_paid (member_id, once_key, entry_id, paid_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (member_id, key, ctx.entry_id(fact, reason), ctx.stamp),
        )
    )


def refund(ctx: Context, req: cp.ChannelRefund) -> Post:
    """Money given back on one of the channel's orders: each earning of the order is reversed
    in the share all its refunds so far bear to the order's total (rules.reversal: partial
    refunds never add up to more than was earned). More than the order's total is refused."""
    tx = ctx.tx
    order = tx.one(
        "SELECT member_id, total_minor FROM channel_facts WHERE channel_id = ? AND fact = ?",
        (ctx.channel_id, f"order:{req.order_id}"),
    )
    if order is None:
        raise ApiProblem(404, "unknown_order", order_id=req.order_id)
    member_id, _ = member_row(ctx, order[0])  # the order's row is read again under the lock
    order = tx.one(
        "SELECT total_minor, refunded_minor FROM channel_facts WHERE channel_id = ? AND fact = ?",
        (ctx.channel_id, f"order:{req.order_id}"),
    )
    assert order is not None
    fact = f"refund:{req.refund_id}"
    claim_fact(ctx, fact, member_id, req.amount_minor, req.order_id)
    basis, before = int(order[0]), int(order[1])
    if before + req.amount_minor > basis:
        raise ApiProblem(422, "refund_exceeds_order", order_id=req.order_id,
                         left_minor=basis - before)  # fmt: skip
    tx.run(
        "UPDATE channel_facts SET refunded_minor = refunded_minor + ? WHERE channel_id = ? "
        "AND fact = ?",
        (req.amount_minor, ctx.channel_id, f"order:{req.order_id}"),
    )
    cum = before + req.amount_minor
    earned = tx.all(
        "SELECT entry_id, kind, points, amount_minor, reason FROM entries WHERE terminal_id = ? "
        "AND receipt_no = ? AND kind IN ('earn', 'bonus') ORDER BY seq",
        (ctx.terminal_id, req.order_id),
    )
    # The order's refunds so far carry its number too (the receipt index finds them).
    taken: dict[str, tuple[int, int]] = {
        r[0]: (int(r[1]), int(r[2]))
        for r in tx.all(
            "SELECT reverses, -SUM(points), -SUM(amount_minor) FROM entries WHERE "
            "terminal_id = ? AND receipt_no = ? AND kind = 'reverse' GROUP BY reverses",
            (ctx.terminal_id, req.order_id),
        )
    }
    out: list[Planned] = []
    for entry_id, kind, points, amount, reason in earned:
        done_points, done_spend = taken.get(entry_id, (0, 0))
        back = reversal(int(points), done_points, cum, basis)
        spend = 0
        if kind == "earn" and reason == "base":
            spend = reversal(int(amount), done_spend, cum, basis)
        if back or spend:
            out.append(Planned(f"reverse:{entry_id}", "reverse", -back, f"refund:{reason}",
                               amount_minor=-spend, reverses=entry_id))  # fmt: skip
    return Post(member_id, fact, req.refund_id, req.order_id, ctx.when(req.occurred_at), out,
                req.amount_minor, req.order_id)  # fmt: skip


def redemption(ctx: Context, req: cp.ChannelRedemption) -> Post:
    """Points spent on the channel, never below zero: head office is online, so it refuses an
    overdraft (409 ``insufficient_points``, with what is available) rather than record one.
    Points another till holds for an online redemption (holds.py) are not available."""
    member_id, row = member_row(ctx, req.member_id)
    if row[0] == "blocked":
        raise ApiProblem(409, "member_blocked", member=member_id)
    reason = "points_payment"
    if req.reward_id is not None:
        reward = ctx.program.reward(req.reward_id)
        if reward is None:
            raise ApiProblem(422, "unknown_reward", reward=req.reward_id)
        if req.points != reward.cost_points:
            raise ApiProblem(422, "points_not_reward_cost", reward=reward.id,
                             cost_points=reward.cost_points, points=req.points)  # fmt: skip
        reason = f"reward:{reward.effect}"
    available = balance_now(ctx, member_id) - ctx.ho._held(ctx.tx, member_id, ctx.now)
    if req.points > available:
        raise ApiProblem(409, "insufficient_points", available=max(available, 0),
                         points=req.points)  # fmt: skip
    fact = f"redemption:{req.redemption_id}"
    claim_fact(ctx, fact, member_id, 0, req.order_id or "")
    kind = "donate" if reason == "reward:donation" else "redeem"
    entry = Planned("redeem", kind, -req.points, reason, reward_id=req.reward_id)
    return Post(member_id, fact, req.redemption_id, req.order_id or req.redemption_id,
                ctx.when(req.occurred_at), [entry])  # fmt: skip


def balance_now(ctx: Context, member_id: str) -> int:
    """The member's spendable balance as of now: the stored account with the pending points
    whose return window closed since it was last written (the jobs write that hourly)."""
    rows = ctx.ho._member_rows(ctx.tx, [member_id])
    update, _ = ctx.ho._account(ctx.program, rows[member_id], (), ctx.now, ctx.stamp)
    return int(update[0])
