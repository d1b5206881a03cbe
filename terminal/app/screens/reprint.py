"""Reprint any receipt by its number (scanned or typed)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from loyalty.errors import LoyaltyError
from terminal.app.screens.base import TillScreen
from terminal.app.screens.receipt_no import looks_like_receipt


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
        except LoyaltyError as exc:
            self.app.call_from_thread(self.show, self.till_app.describe(exc))
            return
        self.app.call_from_thread(self.show, self.t("app.reprint.queued", receipt=receipt))

    def show(self, text: str) -> None:
        self.query_one("#message", Static).update(text)

    def action_cancel(self) -> None:
        self.app.pop_screen()
