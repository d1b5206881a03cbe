"""The member panel: who they are, what they have, what they can afford."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from loyalty.program import localised
from terminal.app.services import MemberView

if TYPE_CHECKING:
    from terminal.app.app import TillApp


class MemberPanel(Vertical):
    def __init__(self, view: MemberView, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = view

    def compose(self) -> ComposeResult:
        app: TillApp = self.app  # type: ignore[assignment]
        t = app.t
        lang = app.language
        program = app.services.till.program
        tz = program.timezone
        v = self.view
        b = v.balance
        tier = program.tier(b.tier_id)
        yield Static(v.member.display_name, id="member-name", classes="title")
        badge = localised(tier.name, lang)
        if b.provisional_tier_id != b.tier_id:
            badge += " → " + t(
                "app.member.provisional",
                tier=localised(program.tier(b.provisional_tier_id).name, lang),
            )
        yield Static(badge, id="member-tier", classes=f"tier tier-{tier.id}")
        yield Static(t("app.member.available", points=t.number(b.available)), id="member-available")
        if b.pending:
            when = t.date(b.pending_release_at, tz) if b.pending_release_at else "—"
            yield Static(t("app.member.pending", points=t.number(b.pending), date=when))
        if b.next_tier_id:
            target = localised(program.tier(b.next_tier_id).name, lang)
            amount = (
                t.money(b.to_next_tier, program.currency)
                if program.tier_rule.measure == "spend"
                else t.number(b.to_next_tier)
            )
            if b.tier_deadline:
                text = t(
                    "app.member.progress_by",
                    amount=amount,
                    tier=target,
                    date=t.date(b.tier_deadline),
                )
            else:
                text = t("app.member.progress", amount=amount, tier=target)
            yield Static(text, id="member-progress")
        if b.expiring_points and b.expiring_at:
            yield Static(
                t(
                    "app.member.expiring",
                    points=t.number(b.expiring_points),
                    date=t.date(b.expiring_at, tz),
                ),
                classes="warning",
            )
        if b.includes_offline:
            as_of = t.datetime(b.as_of, tz) if b.as_of else "—"
            yield Static(t("app.member.as_of", when=as_of), classes="dim")
