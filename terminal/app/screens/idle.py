"""The idle screen invites a scan; a card number, member id or phone can be typed instead."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Input, Static

from loyalty.errors import LoyaltyError
from terminal.app import messages as m
from terminal.app.screens.base import TillScreen


class IdleScreen(TillScreen):
    BINDINGS = [
        Binding("f2", "enrol", "enrol", id="idle.enrol"),
        Binding("f3", "refund", "refund", id="idle.refund"),
        Binding("f4", "reprint", "reprint", id="idle.reprint"),
        Binding("f6", "end_of_day", "end of day", id="idle.end_of_day"),
    ]

    def __init__(self, last: str = "") -> None:
        super().__init__()
        self.last = last

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("app.idle.title"), classes="title")
        yield Input(id="code", placeholder=self.t("app.idle.placeholder"))
        yield Static("", id="message", classes="error")
        yield Static(self.last, id="last")
        with VerticalScroll(id="receipt-preview"):
            yield Static("", id="receipt-text")

    def on_mount(self) -> None:
        self.query_one("#code", Input).focus()
        printer = self.services.printer
        uncertain = list(getattr(printer, "uncertain", []) or [])
        if uncertain:
            from terminal.app.screens.uncertain import UncertainPrintDialog

            self.app.push_screen(UncertainPrintDialog(uncertain))

    @on(Input.Submitted, "#code")
    def typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.post_message(m.MemberScanned(event.value, "typed"))

    def on_member_scanned(self, event: m.MemberScanned) -> None:
        self.till_app.events_seen.append(event)
        self.lookup(event.code)

    @work(thread=True, exclusive=True, exit_on_error=False, group="lookup")
    def lookup(self, code: str) -> None:
        try:
            member = self.services.identify(code)
            view = self.services.member_view(member.member_id)
        except LoyaltyError as exc:
            self.post_message(m.LookupFailed(exc))
            return
        except ValueError as exc:  # a scanner refusal (forged, expired, revoked code)
            self.post_message(m.LookupFailed(None, str(exc)))
            return
        self.post_message(m.MemberIdentified(view))

    def on_member_identified(self, event: m.MemberIdentified) -> None:
        from terminal.app.screens.sale import SaleScreen

        self.till_app.events_seen.append(event)
        self.query_one("#code", Input).value = ""
        self.query_one("#message", Static).update("")
        if not self.app.is_screen_installed("sale"):
            self.app.install_screen(SaleScreen(), "sale")
        sale = self.app.get_screen("sale")
        assert isinstance(sale, SaleScreen)
        self.app.push_screen(sale)
        sale.load(event.view)

    def on_lookup_failed(self, event: m.LookupFailed) -> None:
        self.till_app.events_seen.append(event)
        if event.error is not None:
            text = self.till_app.describe(event.error)
        else:
            text = self.t(f"scan.refused.{event.reason}") if event.reason else ""
        self.query_one("#message", Static).update(text)
        code = self.query_one("#code", Input)
        code.value = ""
        code.focus()

    def show_last(self, text: str, receipt_no: str | None = None) -> None:
        self.last = text
        self.query_one("#last", Static).update(text)
        if receipt_no and self.services.config.raw.get("preview_receipts", True):
            self.preview(receipt_no)

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

    def action_enrol(self) -> None:
        from terminal.app.screens.enrol import EnrolScreen

        self.app.push_screen(EnrolScreen())

    def action_refund(self) -> None:
        from terminal.app.screens.refund import RefundScreen

        self.app.push_screen(RefundScreen())

    def action_reprint(self) -> None:
        from terminal.app.screens.reprint import ReprintScreen

        self.app.push_screen(ReprintScreen())

    def action_end_of_day(self) -> None:
        from terminal.app.screens.end_of_day import EndOfDayScreen

        self.app.push_screen(EndOfDayScreen())
