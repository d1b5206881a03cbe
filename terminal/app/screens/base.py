"""What every till screen has: the status line on top, the key bar at the bottom."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from terminal.app.widgets.chrome import KeyBar, StatusLine
from terminal.i18n import Translator

if TYPE_CHECKING:
    from loyalty.policy import Override
    from terminal.app.host import TillHost
    from terminal.app.services import TillServices
    from terminal.auth import LockedOut


Say = Callable[[], str]


class TillNode:
    """What screens and dialogs reach through the app: its translator and its services, and
    how they survive a language switch (F9): ``relabel()`` rebuilds the labels, keeps what was
    typed, picked and focused, and re-says every text the screen put up with ``tell()``."""

    if TYPE_CHECKING:  # Textual's own, on the screen classes this is mixed into
        app: App[object]

    _said: dict[str, Say]

    @property
    def till_app(self) -> TillHost:
        return cast("TillHost", self.app)

    @property
    def t(self) -> Translator:
        return self.till_app.t

    @property
    def services(self) -> TillServices:
        return self.till_app.services

    def locked_text(self, locked: LockedOut) -> str:
        """Why no PIN is taken for this id now, and until when (the shop's time)."""
        tz = self.services.till.program.timezone
        until = self.t.datetime(locked.until, tz)
        return self.t("app.pin.locked", id=locked.cashier_id, until=until)

    def reset_lockout(self, cashier_id: str, message_id: str) -> None:
        """A manager clears ``cashier_id``'s PIN lock-out: their id, PIN and a reason in the
        override dialog (a wrong manager PIN counts against the manager's id, and a cashier's
        own id is refused as not a manager's); the outcome is said in ``#message_id``."""
        from terminal.app.screens.dialogs import OverrideDialog

        locked = self.services.lockout(cashier_id)
        if locked is None:
            typed = cashier_id.strip()
            self.tell(message_id, lambda: self.t("app.reset.not_locked", id=typed))
            return

        def done(override: Override | None) -> None:
            if override is None:
                return
            self.services.reset_lockout(locked, override)
            name = self.services.cashiers.get(locked.cashier_id)
            who = name.name if name is not None else locked.cashier_id
            manager = self.services.cashiers[override.manager_id].name
            self.tell(message_id, lambda: self.t("app.reset.done", name=who, manager=manager))

        self.app.push_screen(OverrideDialog(), done)

    def tell(self, widget_id: str, say: Say | None) -> None:
        """Show ``say()`` in the Static ``#widget_id`` now and again after a language switch
        (None clears it)."""
        if not hasattr(self, "_said"):
            self._said = {}
        if say is None:
            self._said.pop(widget_id, None)
        else:
            self._said[widget_id] = say
        screen = cast("Screen[Any]", self)
        screen.query_one(f"#{widget_id}", Static).update(say() if say is not None else "")

    async def relabel(self) -> None:
        screen = cast("Screen[Any]", self)
        values: dict[str, object] = {}
        for widget in screen.query("Input, Checkbox, Select"):
            if widget.id:
                values[widget.id] = getattr(widget, "value")  # noqa: B009 - three widget types
        focused = screen.focused.id if screen.focused is not None else None
        await screen.recompose()
        for widget in screen.query("Input, Checkbox, Select"):
            if widget.id in values:
                with widget.prevent(Input.Changed, Checkbox.Changed, Select.Changed):
                    setattr(widget, "value", values[widget.id])  # noqa: B010
                if isinstance(widget, Input):
                    widget.cursor_position = len(widget.value)  # typing goes on at the end
        for widget_id, say in getattr(self, "_said", {}).items():
            with contextlib.suppress(NoMatches):
                screen.query_one(f"#{widget_id}", Static).update(say())
        self.relabelled()
        if focused:
            with contextlib.suppress(NoMatches):
                widget = screen.query_one(f"#{focused}", Widget)
                if isinstance(widget, Input):
                    # Focus would select all and the next key replace what was typed.
                    widget.select_on_focus = False
                widget.focus()

    def relabelled(self) -> None:
        """After a language switch: re-show what the screen builds from its state."""


class TillScreen(TillNode, Screen[None]):
    def compose(self) -> ComposeResult:
        self.set_class(self.t.right_to_left, "rtl")
        yield StatusLine(id="status")
        with Vertical(id="body"):
            yield from self.compose_body()
        yield KeyBar(id="keys")

    def compose_body(self) -> ComposeResult:
        yield from ()


T = TypeVar("T")


class TillDialog(TillNode, ModalScreen[T]):
    pass


def field(label: str, widget: Widget) -> Horizontal:
    """A one-line form row: label, then the input (compact, so a form fits 80x24)."""
    if hasattr(widget, "compact"):
        widget.compact = True
    return Horizontal(Label(label), widget, classes="field")
