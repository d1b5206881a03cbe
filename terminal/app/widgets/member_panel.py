"""The member panel: who they are, what they have, what they can afford. One Static that is
updated in place for each scan (no re-mount), so a scan shows in a few milliseconds."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.content import Content
from textual.widgets import Static

from loyalty.balance import last_day
from loyalty.program import localised
from loyalty.referrals import shown as referral_shown
from terminal import channel_text
from terminal.app.services import MemberView
from terminal.shown import shown
from terminal.tier_text import next_tier

if TYPE_CHECKING:
    from terminal.app.host import TillHost


class MemberPanel(Static):
    def show(self, view: MemberView) -> None:
        app = cast("TillHost", self.app)
        t = app.t
        lang = app.language
        program = app.services.till.program
        tz = program.timezone
        b = view.balance
        tier = program.tier(b.tier_id)
        badge = localised(tier.name, lang)
        if b.provisional_tier_id != b.tier_id:
            provisional = localised(program.tier(b.provisional_tier_id).name, lang)
            badge += " → " + t("app.member.provisional", tier=provisional)
        parts: list[str | tuple[str, str] | Content] = [
            (shown(view.member.display_name), "bold $accent"),
            "\n",
            (f" {badge} ", f"bold reverse {'$success' if tier.id == program.tiers[-1].id else ''}"),
            "\n",
            (t("app.member.available", points=t.number(b.available)), "bold"),
            "\n",
            t("app.member.offline_now", points=t.number(view.offline_now)),
        ]
        if b.pending:
            when = t.date(b.pending_release_at, tz) if b.pending_release_at else "—"
            parts += ["\n", t("app.member.pending", points=t.number(b.pending), date=when)]
        if gap := next_tier(t, program, b, lang):
            target, amount = gap
            if b.tier_deadline:
                text = t(
                    "app.member.progress_by",
                    amount=amount,
                    tier=target,
                    date=t.date(b.tier_deadline),
                )
            else:
                text = t("app.member.progress", amount=amount, tier=target)
            parts += ["\n", text]
        if b.expiring_points and b.expiring_at:
            parts += [
                "\n",
                (
                    t(
                        "app.member.expiring",
                        points=t.number(b.expiring_points),
                        date=t.date(last_day(b.expiring_at, tz)),
                    ),
                    "$warning",
                ),
            ]
        for o in view.offers:
            if o.left:
                text = t(
                    "app.member.offer",
                    offer=localised(o.offer.name, lang),
                    date=t.date(o.offer.ends),
                    left=t.number(o.left),
                )
                parts += ["\n", (text, "$success")]
        for a in view.online:
            parts += ["\n", (channel_text.line(t, program, a), "$text-muted")]
        if view.member.referral_code and program.referrals is not None:
            code = referral_shown(view.member.referral_code)
            parts += ["\n", (t("app.member.referral_code", code=code), "$text-muted")]
        if b.includes_offline:
            as_of = t.datetime(b.as_of, tz) if b.as_of else "—"
            parts += ["\n", (t("app.member.as_of", when=as_of), "$text-muted")]
        self.update(Content.assemble(*parts))
