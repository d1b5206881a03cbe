"""The idle screen invites a scan; a card number, member id or phone can be typed instead. With
a touch display (display/touch.py), F7 asks the shopper to type their phone there: the member it
finds is shown to the cashier (first name, the phone's last two digits) to accept or refuse
before anything of them reaches the display."""

from __future__ import annotations

from dataclasses import replace

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Input, Static

from display.text import first_name
from display.touch import AskLapsed, PhoneTyped, ShopperInput
from loyalty.errors import BadInput, LoyaltyError, NotFound
from loyalty.sales import SaleResult
from terminal.app import messages as m
from terminal.app.screens.base import TillScreen
from terminal.app.services import MemberView
from terminal.app.widgets.member_panel import MemberPanel


class IdleScreen(TillScreen):
    BINDINGS = [
        Binding("f2", "enrol", "enrol", id="idle.enrol"),
        Binding("f3", "refund", "refund", id="idle.refund"),
        Binding("f4", "reprint", "reprint", id="idle.reprint"),
        Binding("f6", "end_of_day", "end of day", id="idle.end_of_day"),
        Binding("ctrl+o", "sign_out", "sign out", id="till.sign_out"),
        Binding("ctrl+f", "find", "find", id="idle.find"),
        Binding("f7", "ask_phone", "shopper phone", id="idle.ask_phone"),
        Binding("escape", "stop_asking", "stop asking", id="idle.stop_asking"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.last: SaleResult | None = None  # the sale just made, shown until the next one
        self.pos_view: MemberView | None = None  # the member the shop's POS last dealt with
        self.asking = False  # the display asks the shopper for their phone
        self.shopper_phone = ""  # what they typed, when it found no member (F2 enrols them)

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("app.idle.title"), classes="title")
        yield Input(id="code", placeholder=self.t("app.idle.placeholder"))
        yield Static("", id="message", classes="error")
        yield Static(self.last_text(), id="last")
        with Vertical(id="pos"):  # shown once the shop's POS identified a member
            yield Static(self.t("app.pos.title"), id="pos-title", classes="dim")
            yield MemberPanel(id="pos-member")
        with VerticalScroll(id="receipt-preview"):
            yield Static("", id="receipt-text")

    def on_mount(self) -> None:
        self.query_one("#code", Input).focus()
        self._show_pos()

    def relabelled(self) -> None:
        self._show_pos()

    def _show_pos(self) -> None:
        self.query_one("#pos", Vertical).display = self.pos_view is not None
        if self.pos_view is not None:
            self.query_one("#pos-member", MemberPanel).show(self.pos_view)

    @on(Input.Submitted, "#code")
    def typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.post_message(m.MemberScanned(event.value, "typed"))

    def on_member_scanned(self, event: m.MemberScanned) -> None:
        self.lookup(event.code)

    @work(thread=True, exclusive=True, exit_on_error=False, group="lookup")
    def lookup(self, code: str) -> None:
        try:
            member, app_code = self.services.identify_scan(code)
            view = replace(self.services.member_view(member.member_id), app_code=app_code)
        except LoyaltyError as exc:
            self.post_message(m.LookupFailed(exc))
            return
        except ValueError as exc:  # a scanner refusal (forged, expired, revoked code)
            self.post_message(m.LookupFailed(None, str(exc)))
            return
        self.post_message(m.MemberIdentified(view))

    def on_member_identified(self, _event: m.MemberIdentified) -> None:
        """The app opens the sale; the idle screen is left clean for the next shopper (a
        scan while the display asked for a phone ends the ask: the feed's desk stops too)."""
        self.query_one("#code", Input).value = ""
        self.tell("message", None)
        if self.asking:
            self.asking, self.shopper_phone = False, ""
            self.refresh_bindings()

    def on_lookup_failed(self, event: m.LookupFailed) -> None:
        error, reason = event.error, event.reason
        if error is not None:
            self.tell("message", lambda: self.till_app.describe(error))
        elif reason:
            self.tell("message", lambda: self.t(f"scan.refused.{reason}"))
        else:
            self.tell("message", None)
        code = self.query_one("#code", Input)
        code.value = ""
        code.focus()

    def show_last(self, result: SaleResult) -> None:
        self.last = result
        self.query_one("#last", Static).update(self.last_text())
        if self.services.config.raw.get("preview_receipts", True):
            self.preview(result.receipt_no)

    def show_pos_member(self, view: MemberView) -> None:
        """The member the shop's POS identified or sold to, as they stand now."""
        self.pos_view = view
        if self.is_mounted:
            self._show_pos()

    def last_text(self) -> str:
        r = self.last
        if r is None:
            return ""
        t = self.t
        return t(
            "app.sale.done",
            receipt=r.receipt_no,
            points=t.number(r.points_earned),
            balance=t.number(r.after.available),
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def preview(self, receipt_no: str) -> None:
        """The receipt as printed, beside the idle screen (the demo's printer is a dummy)."""
        try:
            text = self.services.receipt_preview(receipt_no)
        except Exception:  # noqa: BLE001 - a preview must never disturb the till
            return
        self.app.call_from_thread(self._show_receipt, text)

    def _show_receipt(self, text: str) -> None:
        self.query_one("#receipt-text", Static).update(Content(text))

    def action_find(self) -> None:
        """A shopper without card, app or phone: find them by name among the cached members."""
        from terminal.app.screens.find_member import FindMemberDialog

        def picked(member_id: str | None) -> None:
            if member_id:
                self.lookup(member_id)
            else:
                self.query_one("#code", Input).focus()

        self.app.push_screen(FindMemberDialog(), picked)

    def action_enrol(self) -> None:
        phone, self.shopper_phone = self.shopper_phone, ""
        self.asking = False
        self.post_message(m.ScreenRequested("enrol", phone=phone))

    # -- the shopper checks in on the touch display --------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        display = self.services.display
        if action == "ask_phone":
            return display is not None and display.touch
        if action == "stop_asking":
            return self.asking
        return True

    def action_ask_phone(self) -> None:
        display = self.services.display
        if display is None or not display.touch:
            return
        display.ask_phone()
        self.asking, self.shopper_phone = True, ""
        self.tell("message", lambda: self.t("app.shopper.asking_phone"))
        self.refresh_bindings()

    def action_stop_asking(self) -> None:
        self.stop_asking(None)

    def stop_asking(self, say: str | None) -> None:
        """The display goes back to its start (idle); ``say``: a key of what to tell."""
        self.asking, self.shopper_phone = False, ""
        if self.services.display is not None:
            self.services.display.cleared()
        self.tell("message", (lambda: self.t(say)) if say else None)
        self.refresh_bindings()

    def shopper_acted(self, item: ShopperInput) -> None:
        if not self.asking:
            if self.services.display is not None:
                self.services.display.stop_asking()
        elif isinstance(item, PhoneTyped):
            self.check_in(item.phone)
        elif isinstance(item, AskLapsed):
            self.stop_asking("app.shopper.lapsed")

    @work(thread=True, exclusive=True, exit_on_error=False, group="check_in")
    def check_in(self, phone: str) -> None:
        last = "".join(ch for ch in phone if ch.isdigit())[-2:]
        try:
            view = self.services.check_in_by_phone(phone)
        except BadInput:
            self.app.call_from_thread(self.not_a_phone)
            return
        except LoyaltyError as exc:
            self.app.call_from_thread(self.not_checked_in, phone, last, exc)
            return
        self.app.call_from_thread(self.confirm_check_in, view, last)

    def not_a_phone(self) -> None:
        if self.services.display is not None:
            self.services.display.phone_refused()  # the shopper may try again
        self.tell("message", lambda: self.t("app.shopper.invalid_phone"))

    def not_checked_in(self, phone: str, last: str, error: LoyaltyError) -> None:
        """No member has it (F2 enrols them, the phone filled in), or theirs is refused (a
        blocked member): the display still says only that the cashier will confirm."""
        if isinstance(error, NotFound):
            self.shopper_phone = phone
            self.tell("message", lambda: self.t("app.shopper.no_member", last=last))
            return
        reason = self.till_app.describe(error)
        self.tell("message", lambda: self.t("app.shopper.lookup_refused", last=last, reason=reason))

    def confirm_check_in(self, view: MemberView, last: str) -> None:
        from terminal.app.screens.dialogs import ConfirmDialog

        name = first_name(view.member.display_name)

        def answered(yes: bool | None) -> None:
            if yes and self.asking:
                self.asking = False
                self.tell("message", None)
                self.refresh_bindings()
                self.post_message(m.MemberIdentified(view))
            else:
                self.stop_asking("app.shopper.refused")

        question = lambda: self.t("app.shopper.checked_in", name=name, last=last)  # noqa: E731
        self.app.push_screen(ConfirmDialog(question), answered)

    def action_refund(self) -> None:
        self.post_message(m.ScreenRequested("refund"))

    def action_reprint(self) -> None:
        self.post_message(m.ScreenRequested("reprint"))

    def action_end_of_day(self) -> None:
        self.post_message(m.ScreenRequested("end_of_day"))

    def action_sign_out(self) -> None:
        self.post_message(m.SignOutRequested())
