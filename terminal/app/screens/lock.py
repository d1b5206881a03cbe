"""The till locked: the signed-in cashier unlocks it with their PIN, or a manager with theirs,
and then the manager is the cashier signed in (the app says so). Wrong PINs here count against
the locked cashier's id, so guessing is locked out as at sign-in."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from terminal.app import messages as m
from terminal.app.screens.base import TillScreen
from terminal.auth import Cashier, LockedOut, check_pin


class LockScreen(TillScreen):
    # Sign out from here too, so the next cashier can sign in (the app refuses mid-sale).
    # A manager clears the locked cashier's PIN lock-out (recorded), as at sign-in.
    BINDINGS = [
        Binding("ctrl+o", "sign_out", "sign out", id="till.sign_out"),
        Binding("f7", "reset_lockout", "reset PIN lock", id="till.reset_lockout"),
    ]

    def compose_body(self) -> ComposeResult:
        name = self.till_app.cashier.name if self.till_app.cashier else ""
        yield Static(self.t("app.lock.title", name=name), classes="title")
        yield Input(id="pin", password=True, placeholder=self.t("app.sign_in.pin"))
        yield Static("", id="message", classes="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.check(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="unlock")
    def check(self, pin: str) -> None:
        cashier = self.till_app.cashier
        if cashier is None:
            return
        managers = [c for c in self.services.cashiers.values() if c.manager]

        def verify() -> Cashier | None:
            # The locked cashier's own PIN first: a manager's PIN unlocks as that manager.
            return next((who for who in [cashier, *managers] if check_pin(pin, who.pin_hash)), None)

        got = self.services.pins.check(cashier.cashier_id, self.services.now(), verify)
        self.app.call_from_thread(self.checked, got)

    def checked(self, got: Cashier | LockedOut | None) -> None:
        if isinstance(got, Cashier):
            self.post_message(m.TillUnlocked(got))
            return
        self.query_one("#pin", Input).value = ""
        if got is None:
            self.tell("message", lambda: self.t("app.sign_in.wrong"))
        else:
            locked = got
            self.tell("message", lambda: self.locked_text(locked))

    def action_reset_lockout(self) -> None:
        cashier = self.till_app.cashier
        if cashier is not None:
            self.reset_lockout(cashier.cashier_id, "message")
            self.query_one("#pin", Input).focus()

    def action_sign_out(self) -> None:
        self.post_message(m.SignOutRequested())
