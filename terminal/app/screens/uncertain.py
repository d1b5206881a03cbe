"""After a crash or power cut mid-print: receipts that may or may not have printed. The
cashier looks at the printer's output and answers for each; nothing is printed twice by
accident and nothing is lost."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from printer import Job
from terminal.app.screens.base import TillDialog


class UncertainPrintDialog(TillDialog[None]):
    BINDINGS = [
        Binding("y", "printed", "printed", id="uncertain.printed"),
        Binding("n", "send_again", "send again", id="uncertain.send_again"),
        Binding("escape", "later", "later", id="uncertain.later"),
    ]

    def __init__(self, jobs: list[Job]) -> None:
        super().__init__()
        self.jobs = list(jobs)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.t("app.uncertain.title"), classes="title")
            yield Static("", id="question")
            yield Static(self.t("app.uncertain.keys"), classes="dim")

    def on_mount(self) -> None:
        self.ask()

    def ask(self) -> None:
        if not self.jobs:
            self.dismiss(None)
            return
        job = self.jobs[0]
        self.query_one("#question", Static).update(
            self.t("app.uncertain.question", receipt=job.receipt_no)
        )

    def action_printed(self) -> None:
        self.answer(True)

    def action_send_again(self) -> None:
        self.answer(False)

    def action_later(self) -> None:
        self.dismiss(None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="uncertain")
    def answer(self, printed: bool) -> None:
        job = self.jobs.pop(0)
        printer = self.till_app.services.printer
        assert printer is not None  # the dialog shows only the printer's uncertain jobs
        printer.resolve(job.job_id, printed)
        self.app.call_from_thread(self.ask)
