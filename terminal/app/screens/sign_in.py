"""Sign in with a cashier id and PIN; repeated wrong PINs lock that id out for a while."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from terminal.app import messages as m
from terminal.app.screens.base import TillScreen, field
from terminal.auth import LockedOut


class SignInScreen(TillScreen):
    # A manager clears the typed id's PIN lock-out (their id, PIN and why; recorded).
    BINDINGS = [Binding("f7", "reset_lockout", "reset PIN lock", id="till.reset_lockout")]

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("app.sign_in.title"), classes="title")
        yield field(self.t("app.sign_in.cashier"), Input(id="cashier-id"))
        yield field(self.t("app.sign_in.pin"), Input(id="pin", password=True))
        yield Static("", id="message", classes="error")

    def on_mount(self) -> None:
        self.query_one("#cashier-id", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "cashier-id":
            self.query_one("#pin", Input).focus()
            return
        cashier_id = self.query_one("#cashier-id", Input).value
        self.check(cashier_id, event.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sign-in")
    def check(self, cashier_id: str, pin: str) -> None:
        got = self.services.sign_in(cashier_id, pin)
        if got is None or isinstance(got, LockedOut):
            self.post_message(m.SignInRefused(got))
        else:
            self.post_message(m.CashierSignedIn(got))

    def on_sign_in_refused(self, event: m.SignInRefused) -> None:
        pin = self.query_one("#pin", Input)
        pin.value = ""
        locked = event.locked
        if locked is None:
            self.tell("message", lambda: self.t("app.sign_in.wrong"))
        else:
            self.tell("message", lambda: self.locked_text(locked))
        pin.focus()

    def action_reset_lockout(self) -> None:
        self.reset_lockout(self.query_one("#cashier-id", Input).value, "message")

    def tell_signed_out(self, name: str) -> None:
        """After a sign-out: who left, so the next cashier sees the till is free."""
        self.tell("message", lambda: self.t("app.sign_out.done", name=name))
