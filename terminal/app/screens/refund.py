"""Refund by receipt number (scanned or typed), and reprint any receipt."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from loyalty.errors import LoyaltyError
from loyalty.money import parse_amount
from loyalty.rules import BasketLine
from terminal.app import messages as m
from terminal.app.screens.base import TillScreen, field


class RefundScreen(TillScreen):
    BINDINGS = [
        Binding("f10", "confirm", "confirm", id="refund.confirm"),
        Binding("escape", "cancel", "cancel", id="refund.cancel"),
    ]

    def compose_body(self) -> ComposeResult:
        t = self.t
        yield Static(t("app.refund.title"), classes="title")
        yield field(t("app.refund.receipt"), Input(id="receipt"))
        yield field(
            t("app.refund.lines"), Input(id="lines", placeholder=t("app.refund.lines_hint"))
        )
        yield Static("", id="message", classes="error")
        yield Static("", id="result")

    def on_mount(self) -> None:
        self.query_one("#receipt", Input).focus()

    def accept_scan(self, code: str) -> bool:
        """A scanned receipt QR fills the receipt number; a member code is not for this screen."""
        if not looks_like_receipt(code):
            return False
        self.query_one("#receipt", Input).value = code.strip()
        self.query_one("#lines", Input).focus()
        return True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "receipt":
            self.query_one("#lines", Input).focus()
        else:
            self.action_confirm()

    def action_confirm(self) -> None:
        receipt = self.query_one("#receipt", Input).value.strip()
        text = self.query_one("#lines", Input).value
        digits = self.services.till.program.minor_units
        try:
            lines = [
                BasketLine(p[0], "-", parse_amount(p[1], digits))
                for p in (part.split() for part in text.split(";"))
                if len(p) == 2
            ] or None
        except LoyaltyError as exc:
            self.query_one("#message", Static).update(self.till_app.describe(exc))
            return
        cashier = self.till_app.cashier
        assert cashier is not None
        self.refund(receipt, cashier.cashier_id, lines)

    @work(thread=True, exclusive=True, exit_on_error=False, group="refund")
    def refund(self, receipt: str, cashier: str, lines: list[BasketLine] | None) -> None:
        try:
            result = self.services.refund(receipt, cashier, lines)
        except LoyaltyError as exc:
            self.app.call_from_thread(self.failed, exc)
            return
        self.post_message(m.RefundCommitted(result))

    def failed(self, error: LoyaltyError) -> None:
        self.query_one("#message", Static).update(self.till_app.describe(error))

    def on_refund_committed(self, event: m.RefundCommitted) -> None:
        r = event.result
        t = self.t
        self.query_one("#message", Static).update("")
        self.query_one("#result", Static).update(
            t(
                "app.refund.done",
                receipt=r.receipt_no,
                amount=t.money(r.amount_minor, self.services.currency),
                reversed=t.number(r.points_reversed),
                balance=t.number(r.after.available),
            )
        )

    def action_cancel(self) -> None:
        self.app.pop_screen()


def looks_like_receipt(code: str) -> bool:
    """Receipt numbers are '<till id>-<6 digits>'."""
    head, _, number = code.strip().rpartition("-")
    return bool(head) and len(number) == 6 and number.isdigit()


class ReprintScreen(TillScreen):
    BINDINGS = [Binding("escape", "cancel", "cancel", id="reprint.cancel")]

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("app.reprint.title"), classes="title")
        yield Input(id="receipt", placeholder=self.t("app.refund.receipt"))
        yield Static("", id="message")

    def on_mount(self) -> None:
        self.query_one("#receipt", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.reprint(event.value.strip())

    def accept_scan(self, code: str) -> bool:
        if not looks_like_receipt(code):
            return False
        self.query_one("#receipt", Input).value = code.strip()
        self.reprint(code.strip())
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="reprint")
    def reprint(self, receipt: str) -> None:
        try:
            self.services.reprint(receipt)
            text = self.t("app.reprint.queued", receipt=receipt)
        except LoyaltyError as exc:
            text = self.till_app.describe(exc)
        self.app.call_from_thread(self.query_one("#message", Static).update, text)

    def action_cancel(self) -> None:
        self.app.pop_screen()
