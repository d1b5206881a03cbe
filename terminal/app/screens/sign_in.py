"""Sign in with a cashier id and PIN."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.widgets import Input, Static

from terminal.app import messages as m
from terminal.app.screens.base import TillScreen, field
from terminal.auth import sign_in


class SignInScreen(TillScreen):
    def compose_body(self) -> ComposeResult:
        yield Static(self.t("app.sign_in.title"), classes="title")
        yield field(self.t("app.sign_in.cashier"), Input(id="cashier-id"))
        yield field(self.t("app.sign_in.pin"), Input(id="pin", password=True))
        yield Static("", id="message", classes="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "cashier-id":
            self.query_one("#pin", Input).focus()
            return
        cashier_id = self.query_one("#cashier-id", Input).value
        self.check(cashier_id, event.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sign-in")
    def check(self, cashier_id: str, pin: str) -> None:
        cashier = sign_in(self.services.cashiers, cashier_id, pin)
        self.post_message(m.SignInRefused() if cashier is None else m.CashierSignedIn(cashier))

    def on_sign_in_refused(self, _event: m.SignInRefused) -> None:
        pin = self.query_one("#pin", Input)
        pin.value = ""
        self.tell("message", lambda: self.t("app.sign_in.wrong"))
        pin.focus()
