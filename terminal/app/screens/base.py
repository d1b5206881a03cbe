"""What every till screen has: the status line on top, the key bar at the bottom."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Label

from terminal.app.widgets.chrome import KeyBar, StatusLine
from terminal.i18n import Translator

if TYPE_CHECKING:
    from terminal.app.host import TillHost
    from terminal.app.services import TillServices


class TillNode:
    """What screens and dialogs reach through the app: its translator and its services."""

    if TYPE_CHECKING:  # Textual's own, on the screen classes this is mixed into
        app: App[object]

    @property
    def till_app(self) -> TillHost:
        return cast("TillHost", self.app)

    @property
    def t(self) -> Translator:
        return self.till_app.t

    @property
    def services(self) -> TillServices:
        return self.till_app.services


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
