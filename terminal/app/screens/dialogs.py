"""Small dialogs: a manager's override (id, PIN, reason), and a yes-or-no question."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from loyalty.policy import Override
from terminal.app.screens.base import Say, TillDialog, field
from terminal.auth import Cashier, LockedOut


class OverrideDialog(TillDialog[Override | None]):
    BINDINGS = [Binding("escape", "cancel", "cancel", id="dialog.cancel")]

    def compose(self) -> ComposeResult:
        t = self.t
        with Vertical(classes="dialog"):
            yield Static(t("app.override.title"), classes="title")
            yield field(t("app.override.manager"), Input(id="manager"))
            yield field(t("app.sign_in.pin"), Input(id="pin", password=True))
            yield field(t("app.override.reason"), Input(id="reason"))
            yield Static("", id="message", classes="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        order = ["manager", "pin", "reason"]
        if event.input.id != "reason":
            self.query_one(f"#{order[order.index(event.input.id or '') + 1]}", Input).focus()
            return
        self.check(
            self.query_one("#manager", Input).value,
            self.query_one("#pin", Input).value,
            event.value,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="override")
    def check(self, manager_id: str, pin: str, reason: str) -> None:
        got = self.till_app.services.sign_in(manager_id, pin)
        # The configured id, not what was typed ("MARIA"): it is what the ledger records.
        known = got.cashier_id if isinstance(got, Cashier) else manager_id
        self.app.call_from_thread(self.checked, got, known, reason)

    def checked(self, got: Cashier | LockedOut | None, manager_id: str, reason: str) -> None:
        if isinstance(got, LockedOut):
            locked = got
            self.tell("message", lambda: self.locked_text(locked))
            self.query_one("#pin", Input).value = ""
            return
        if got is None or not got.manager:
            self.tell("message", lambda: self.t("app.override.not_manager"))
            self.query_one("#pin", Input).value = ""
            return
        if not reason.strip():
            self.tell("message", lambda: self.t("loyalty.reason_required"))
            return
        self.dismiss(Override(manager_id.strip(), reason.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(TillDialog[bool]):
    """A question before something that moves money: Enter (or F10) says yes, Esc goes back.
    Nothing to type, so a stray key cannot answer it."""

    BINDINGS = [
        Binding("enter,f10", "yes", "confirm", id="dialog.confirm"),
        Binding("escape", "no", "back", id="dialog.back"),
    ]

    def __init__(self, question: Say, details: Say | None = None) -> None:
        """``question`` and ``details`` are said again after a language switch."""
        super().__init__()
        self.question = question
        self.details = details

    def compose(self) -> ComposeResult:
        t = self.t
        with Vertical(classes="dialog"):
            yield Static(self.question(), classes="title", id="question")
            if self.details is not None:
                yield Static(self.details(), id="details")
            yield Static(t("app.confirm.keys"), classes="dim")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)
