"""The member panel and the sale: basket, reward, points as payment, preview, confirm."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from loyalty.errors import BadInput, LoyaltyError, Refused
from loyalty.policy import Authorisation, Override
from loyalty.program import Reward, localised
from loyalty.rules import BasketLine, price, total_only
from loyalty.sales import SaleRequest, SaleResult
from sync.client import SyncFailed
from terminal.app import messages as m
from terminal.app.amounts import AmountRules, check_sale_total, read_amount, read_points
from terminal.app.screens.base import TillScreen, field
from terminal.app.services import MemberView
from terminal.app.widgets.member_panel import MemberPanel
from terminal.scanning import AppCodeUse
from terminal.shown import shown


def parse_lines(text: str, rules: AmountRules) -> tuple[BasketLine, ...]:
    """'fresh 25.00; CAFE-001 cafe 2.80' -> basket lines. ';' separates lines because a comma
    is the decimal separator in Greek, Polish and Romanian; a Persian keyboard types '؛'."""
    lines = []
    for i, part in enumerate(p.split() for p in text.replace("؛", ";").split(";")):
        if not part:
            continue
        if len(part) == 2:
            part = [f"L{i + 1}", *part]
        if len(part) != 3:
            raise BadInput("malformed_line", sku=" ".join(part)[:64], category="")
        lines.append(BasketLine(part[0], part[1], read_amount(part[2], rules)))
    return tuple(lines)


class SaleScreen(TillScreen):
    BINDINGS = [
        Binding("f10", "confirm", "confirm", id="sale.confirm"),
        Binding("f7", "override", "override", id="sale.override"),
        Binding("f8", "authorise", "authorise", id="sale.authorise"),
        Binding("escape", "cancel", "cancel", id="sale.cancel"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: MemberView | None = None
        self.reward_id: str | None = None
        self.override: Override | None = None
        self.authorisation: Authorisation | None = None
        self.refused: Refused | None = None
        self._language = ""

    def compose_body(self) -> ComposeResult:
        t = self.t
        self._language = self.till_app.language
        with Horizontal(id="sale"):
            yield MemberPanel(id="member")
            with Vertical(id="basket"):
                yield field(t("app.sale.total"), Input(id="total", placeholder="0.00"))
                yield field(
                    t("app.sale.lines"), Input(id="lines", placeholder=t("app.sale.lines_hint"))
                )
                yield field(
                    t("app.sale.points_payment"),
                    Input(id="points", placeholder="0", type="integer"),
                )
                yield Static("", id="preview")
                yield Static("", id="message", classes="error")
                yield Label(t("app.sale.rewards"))
                yield OptionList(id="rewards")

    def load(self, view: MemberView) -> None:
        """Show a newly scanned member: the screen is built once and refilled per scan."""
        self.view = view
        self.reward_id = self.override = self.authorisation = self.refused = None
        if self._language != self.till_app.language:
            self.refresh(recompose=True)
            self.call_after_refresh(self._fill)
        else:
            self._fill()

    def _fill(self) -> None:
        """A new member: empty fields, their panel and rewards, the focus on the total."""
        for name in ("total", "lines", "points"):
            inp = self.query_one(f"#{name}", Input)
            with inp.prevent(Input.Changed):
                inp.value = ""
        self.query_one("#preview", Static).update("")
        self.query_one("#message", Static).update("")
        self._show_member()
        self.query_one("#total", Input).focus()

    def _show_member(self) -> None:
        view = self.view
        assert view is not None
        self.query_one(MemberPanel).show(view)
        self._show_rewards()

    def _show_rewards(self) -> None:
        """Affordable rewards first (★), the picked one marked (▶); the rest disabled, those
        the member's tier does not allow saying which tiers do."""
        view = self.view
        assert view is not None
        rewards = self.query_one("#rewards", OptionList)
        highlighted = rewards.highlighted
        rewards.set_options(
            [Option(self._reward_label(r, True), id=r.id) for r in view.affordable]
            + [
                Option(self._reward_label(r, False), id=r.id, disabled=True)
                for r in view.other_rewards
            ]
        )
        if highlighted is not None and highlighted < rewards.option_count:
            rewards.highlighted = highlighted

    def relabelled(self) -> None:
        """F9 mid-sale: the same member, basket, reward and override, said in the new language
        (the fields and the focus are kept by relabel())."""
        self._language = self.till_app.language
        if self.view is not None:
            self._show_member()
            self.update_preview()

    def _reward_label(self, reward: Reward, affordable: bool) -> str:
        t = self.t
        lang = self.till_app.language
        name = localised(reward.name, lang)
        cost = t.plural("app.points", reward.cost_points)
        mark = "▶ " if reward.id == self.reward_id else "★ " if affordable else "  "
        label = f"{mark}{name} — {cost}"
        assert self.view is not None
        if reward.tiers and self.view.balance.tier_id not in reward.tiers:
            program = self.services.till.program
            allowed = [x for x in program.tiers if x.id in reward.tiers]  # the program's order
            tiers = t.join([localised(x.name, lang) for x in allowed], "or")
            label += " · " + t("app.reward.tier_only", tiers=tiers)
        return label

    # -- building the request ---------------------------------------------------------------------
    def request(self) -> SaleRequest:
        """The sale the fields describe; BadInput says which field is wrong and why."""
        rules = self.amount_rules
        total_text = self.query_one("#total", Input).value.strip()
        lines = parse_lines(self.query_one("#lines", Input).value, rules)
        if not lines:
            if not total_text:
                raise BadInput("empty_basket")
            lines = (total_only(read_amount(total_text, rules)),)
        else:
            lines_minor = sum(x.amount_minor for x in lines)
            check_sale_total(lines_minor, rules)
            if total_text:
                total_minor = read_amount(total_text, rules)
                if total_minor != lines_minor:
                    money, currency = self.t.money, self.services.currency
                    raise BadInput(
                        "total_does_not_match_lines",
                        total=money(total_minor, currency),
                        lines=money(lines_minor, currency),
                    )
        points_text = self.query_one("#points", Input).value.strip()
        cashier = self.till_app.cashier
        assert cashier is not None
        assert self.view is not None
        return SaleRequest(
            member_id=self.view.member.member_id,
            cashier_id=cashier.cashier_id,
            lines=lines,
            reward_id=self.reward_id,
            payment_points=read_points(points_text),
            authorisation=self.authorisation,
            override=self.override,
        )

    @property
    def amount_rules(self) -> AmountRules:
        return AmountRules.for_till(self.services.till.program, self.services.config.raw)

    @on(Input.Changed)
    def changed(self, _event: Input.Changed) -> None:
        self.override = None
        self.authorisation = None
        self.update_preview()

    @on(OptionList.OptionSelected, "#rewards")
    def reward_picked(self, event: OptionList.OptionSelected) -> None:
        picked = event.option.id
        self.reward_id = None if picked == self.reward_id else picked
        self.override = None
        self._show_rewards()
        self.update_preview()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        order = ["total", "lines", "points"]
        if event.input.id in order[:-1]:
            self.query_one(f"#{order[order.index(event.input.id) + 1]}", Input).focus()
        else:
            self.action_confirm()

    def update_preview(self) -> None:
        """Read the fields here (UI thread); the worker computes the preview from them."""
        try:
            req = self.request()
        except LoyaltyError as exc:
            self.show_preview(exc)
            return
        self.preview(req)

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def preview(self, req: SaleRequest) -> None:
        try:
            result = self.services.preview(req)
        except LoyaltyError as exc:
            self.post_message(m.PreviewRefused(exc))
            return
        self.post_message(m.SalePreviewed(result))

    def on_sale_previewed(self, event: m.SalePreviewed) -> None:
        self.show_preview(event.result)

    def on_preview_refused(self, event: m.PreviewRefused) -> None:
        self.show_preview(event.error)

    def show_preview(self, result: SaleResult | LoyaltyError, asked: bool = False) -> None:
        """The preview, or why there is none. While the cashier types, an empty basket is
        not yet a mistake; ``asked`` (F10, Enter) says every problem, that one too."""
        preview = self.query_one("#preview", Static)
        message = self.query_one("#message", Static)
        if isinstance(result, LoyaltyError):
            preview.update("")
            self.refused = result if isinstance(result, Refused) else None
            quiet = isinstance(result, BadInput) and result.code == "empty_basket" and not asked
            message.update("" if quiet else self.till_app.describe(result))
            return
        self.refused = None
        message.update("")
        t = self.t
        currency = self.services.currency
        reasons = t.join([f"{self._reason(e.reason)} {t.number(e.points)}" for e in result.earned])
        text = t("app.sale.preview_earn", points=t.number(result.points_earned), reasons=reasons)
        if result.pricing.redeemed_points:
            text += "\n" + t(
                "app.sale.preview_redeem", points=t.number(result.pricing.redeemed_points)
            )
        text += "\n" + t(
            "app.sale.preview_pay", amount=t.money(result.pricing.paid_minor, currency)
        )
        text += "\n" + t("app.sale.preview_balance", points=t.number(result.after.available))
        preview.update(text)

    def _reason(self, reason: str) -> str:
        kind, _, ident = reason.partition(":")
        program = self.services.till.program
        if kind == "promo":
            promo = next((p for p in program.promotions if p.id == ident), None)
            return localised(promo.name, self.till_app.language) if promo else ident
        if kind == "tier":
            return self.t(
                "app.reason.tier", tier=localised(program.tier(ident).name, self.till_app.language)
            )
        return self.t("app.reason.base")

    # -- actions ---------------------------------------------------------------------------
    def action_confirm(self) -> None:
        try:
            req = self.request()
        except LoyaltyError as exc:
            self.show_preview(exc, asked=True)
            return
        total = sum(x.amount_minor for x in req.lines)
        if total <= self.amount_rules.confirm_above_minor:
            self.commit(req)
            return
        from terminal.app.screens.dialogs import ConfirmDialog

        assert self.view is not None
        name = shown(self.view.member.display_name)

        def question() -> str:
            return self.t(
                "app.sale.confirm_large",
                amount=self.t.money(total, self.services.currency),
                name=name,
            )

        def answered(yes: bool | None) -> None:
            if yes:
                self.commit(req)

        self.app.push_screen(ConfirmDialog(question), answered)

    def commit(self, req: SaleRequest) -> None:
        """Sell, with the app code scanned for this sale (read here, on the UI thread)."""
        self.sell(req, self.view.app_code if self.view is not None else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sale")
    def sell(self, req: SaleRequest, app_code: AppCodeUse | None) -> None:
        try:
            result = self.services.sell(req, app_code)
        except LoyaltyError as exc:
            self.post_message(m.SaleRefused(exc))
            return
        self.post_message(m.SaleCommitted(result))

    def on_sale_refused(self, event: m.SaleRefused) -> None:
        self.show_preview(event.error, asked=True)

    def action_cancel(self) -> None:
        self.app.post_message(m.SaleCancelled())
        self.app.pop_screen()

    def action_override(self) -> None:
        from terminal.app.screens.dialogs import OverrideDialog

        if self.refused is None or "manager_override" not in self.refused.next_steps:
            self.notify(self.t("app.sale.no_override_needed"), severity="warning")
            return

        def done(override: Override | None) -> None:
            if override is not None:
                self.override = override
                self.action_confirm()

        self.app.push_screen(OverrideDialog(), done)

    def action_authorise(self) -> None:
        """Ask head office to hold the points this basket redeems (what the offline policy
        refused). The request is read here, on the UI thread; the worker only calls out."""
        if self.services.sync is None:
            self.notify(self.till_app.no_headoffice(), severity="warning")
            return
        try:
            req = self.request()
            assert self.view is not None
            # What the basket redeems, before the offline policy (which is what refused it).
            pricing = price(
                self.services.till.program,
                req.lines,
                req.reward_id,
                req.payment_points,
                self.view.balance.tier_id,
            )
        except LoyaltyError as exc:
            self.show_preview(exc, asked=True)
            return
        self.authorise(req.member_id, pricing.redeemed_points)

    @work(thread=True, exclusive=True, exit_on_error=False, group="authorise")
    def authorise(self, member_id: str, points: int) -> None:
        sync = self.services.sync
        assert sync is not None
        try:
            hold = sync.authorise(member_id, points)
        except SyncFailed as exc:
            self.post_message(m.AuthorisationFailed(exc.code, dict(exc.params)))
            return
        except Exception:  # noqa: BLE001 - head office down is a state, not a crash
            self.post_message(m.AuthorisationFailed("other"))
            return
        self.post_message(m.AuthorisationGranted(hold))

    def on_authorisation_granted(self, event: m.AuthorisationGranted) -> None:
        self.authorisation = event.hold
        self.action_confirm()

    def on_authorisation_failed(self, event: m.AuthorisationFailed) -> None:
        self.till_app.tell_failure(event.code, "app.authorise.failed", True, event.params)
