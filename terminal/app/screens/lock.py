"""The till locked: the signed-in cashier (or a manager) unlocks it with a PIN."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.widgets import Input, Static

from terminal.app.screens.base import TillScreen
from terminal.auth import check_pin


class LockScreen(TillScreen):
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
        managers = [c for c in self.services.cashiers.values() if c.manager]
        ok = cashier is not None and check_pin(pin, cashier.pin_hash)
        ok = ok or any(check_pin(pin, c.pin_hash) for c in managers)
        self.app.call_from_thread(self.checked, ok)

    def checked(self, ok: bool) -> None:
        if ok:
            self.app.pop_screen()
            return
        self.query_one("#pin", Input).value = ""
        self.tell("message", lambda: self.t("app.sign_in.wrong"))
