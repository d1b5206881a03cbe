"""The end-of-day report: points issued and redeemed by cashier, and what is not synced."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from terminal.app.screens.base import TillScreen


class EndOfDayScreen(TillScreen):
    BINDINGS = [
        Binding("f10", "print", "print", id="end_of_day.print"),
        Binding("escape", "cancel", "cancel", id="end_of_day.cancel"),
    ]

    def compose_body(self) -> ComposeResult:
        yield Static(self.t("app.end_of_day.title"), classes="title", id="eod-title")
        yield DataTable(id="eod-table", cursor_type="none")
        yield Static("", id="eod-totals")

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="report")
    def load(self) -> None:
        report = self.services.day_report()
        self.app.call_from_thread(self.show, report)

    def show(self, report: object) -> None:
        from loyalty.reports import DayReport

        assert isinstance(report, DayReport)
        t = self.t
        self.report = report
        self.query_one("#eod-title", Static).update(
            t("app.end_of_day.title_for", day=t.date(report.day))
        )
        table = self.query_one("#eod-table", DataTable)
        table.clear(columns=True)
        table.add_columns(
            t("app.end_of_day.cashier"),
            t("app.end_of_day.sales"),
            t("app.end_of_day.refunds"),
            t("app.end_of_day.issued"),
            t("app.end_of_day.redeemed"),
            t("app.end_of_day.spend"),
        )
        for c in report.cashiers:
            table.add_row(
                c.cashier_id,
                t.number(c.sales),
                t.number(c.refunds),
                t.number(c.points_issued),
                t.number(c.points_redeemed),
                t.money(c.spend_minor, report.currency),
            )
        self.query_one("#eod-totals", Static).update(
            t(
                "app.end_of_day.totals",
                issued=t.number(report.points_issued),
                redeemed=t.number(report.points_redeemed),
                unsynced=t.number(report.unsynced_entries),
            )
        )

    def action_print(self) -> None:
        printer = self.services.printer
        if printer is None or not hasattr(self, "report"):
            self.notify(self.t("app.device.none"), severity="warning")
            return
        printer.enqueue_day_report(self.report)
        self.notify(self.t("app.end_of_day.printed"))

    def action_cancel(self) -> None:
        self.app.pop_screen()
