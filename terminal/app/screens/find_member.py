"""Find a member by name among the members cached on this till, for a shopper without card,
app or phone at hand. Privacy: only a few results, each the name, the tier and the last digits
of the card (the shopper confirms which is theirs); more matches ask for more of the name."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from loyalty.members import Member
from loyalty.program import localised
from terminal.app.screens.base import TillDialog, field
from terminal.shown import shown

SHOWN = 5  # results shown at most
MIN_LETTERS = 3


class NamesFound(Message):
    """The members whose names matched ``text`` (``SHOWN + 1`` at most)."""

    def __init__(self, text: str, found: list[Member]) -> None:
        super().__init__()
        self.text = text
        self.found = found


def masked_card(card: str | None) -> str:
    return "•••• " + card[-4:] if card else "—"


class FindMemberDialog(TillDialog[str | None]):
    """Dismissed with the picked member's id, or None (Esc)."""

    BINDINGS = [Binding("escape", "cancel", "cancel", id="dialog.cancel")]

    def __init__(self) -> None:
        super().__init__()
        self.found: list[Member] = []
        self.searched = ""

    def compose(self) -> ComposeResult:
        t = self.t
        with Vertical(classes="dialog"):
            yield Static(t("app.find.title"), classes="title")
            yield field(t("app.find.name"), Input(id="name"))
            yield Static("", id="message", classes="error")
            yield OptionList(id="found")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    @on(Input.Submitted, "#name")
    def submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if sum(c.isalpha() for c in text) < MIN_LETTERS:
            self.found, self.searched = [], ""
            self.relabelled()
            self.tell("message", lambda: self.t("app.find.too_short", n=MIN_LETTERS))
            return
        self.search(text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="find")
    def search(self, text: str) -> None:
        self.post_message(NamesFound(text, self.services.find_by_name(text, SHOWN)))

    def on_names_found(self, event: NamesFound) -> None:
        self.found, self.searched = event.found, event.text
        self.relabelled()
        if self.found:
            results = self.query_one("#found", OptionList)
            results.highlighted = 0
            results.focus()

    def relabelled(self) -> None:
        """The results and what they say, in the current language."""
        program = self.services.till.program
        lang = self.till_app.language
        results = self.query_one("#found", OptionList)
        shown_now = self.found[:SHOWN]
        options = []
        for member in shown_now:
            tier = localised(program.tier(member.tier_id).name, lang) if member.tier_id else "—"
            label = f"{shown(member.display_name)} · {tier} · {masked_card(member.card_number)}"
            options.append(Option(label, id=member.member_id))
        results.set_options(options)
        if not self.searched:
            return
        if not self.found:
            self.tell("message", lambda: self.t("app.find.none"))
        elif len(self.found) > SHOWN:
            self.tell("message", lambda: self.t("app.find.too_many", n=SHOWN))
        else:
            self.tell("message", None)

    @on(OptionList.OptionSelected, "#found")
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
