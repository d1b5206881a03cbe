"""Refund by picking from the receipt: the receipt's lines with what each has left, the lines
(or parts of them) the cashier picks, then a confirmation with the money and the points before
anything is written. Refunding the whole receipt is its own key (F2), never what a typo falls
back to.

Keys while the amount field has the focus: Up/Down pick a line; Enter on an empty field takes
the whole line (again: leaves it); an amount then Enter refunds that much of the line.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static

from loyalty.db import from_text
from loyalty.errors import BadInput, LoyaltyError, Refused
from loyalty.refunds import Refundable, RefundableLine
from loyalty.rules import BasketLine
from terminal.app import messages as m
from terminal.app.amounts import AmountRules, read_amount
from terminal.app.screens.base import Say, TillScreen, field
from terminal.app.screens.dialogs import ConfirmDialog
from terminal.app.screens.receipt_no import looks_like_receipt
from terminal.shown import shown


class RefundScreen(TillScreen):
    BINDINGS = [
        Binding("f10", "confirm", "refund", id="refund.confirm"),
        Binding("f2", "everything", "whole receipt", id="refund.everything"),
        Binding("up", "line(-1)", "line", show=False),
        Binding("down", "line(1)", "line", show=False),
        Binding("escape", "cancel", "cancel", id="refund.cancel"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.receipt: Refundable | None = None
        self.member_name = ""
        self.picked: dict[str, int] = {}  # product code -> minor units to refund

    def compose_body(self) -> ComposeResult:
        t = self.t
        yield Static(t("app.refund.title"), classes="title")
        yield field(t("app.refund.receipt"), Input(id="receipt"))
        yield Static("", id="receipt-info", classes="dim")
        table: DataTable[str] = DataTable(id="refund-lines", cursor_type="row")
        table.can_focus = False  # the amount field keeps the focus; Up/Down move the pick
        yield table
        yield field(t("app.refund.amount"), Input(id="amount", disabled=True))
        yield Static(t("app.refund.how"), id="how", classes="dim")
        yield Static("", id="picked")
        yield Static("", id="message", classes="error")
        yield Static("", id="result")

    def on_mount(self) -> None:
        self.query_one("#receipt", Input).focus()
        if self.receipt is not None:  # rebuilt (a language switch): show what was there
            self.show_receipt()

    # -- the receipt ----------------------------------------------------------------------------
    def accept_scan(self, code: str) -> bool:
        """A scanned receipt QR loads that receipt; a member code is not for this screen."""
        if not looks_like_receipt(code):
            return False
        self.query_one("#receipt", Input).value = code.strip()
        self.load(code.strip())
        return True

    @on(Input.Submitted, "#receipt")
    def receipt_typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.load(event.value.strip())
        else:
            self.say(lambda: self.t("app.refund.no_receipt"))

    @on(Input.Changed, "#receipt")
    def receipt_changed(self, event: Input.Changed) -> None:
        if self.receipt is not None and event.value.strip() != self.receipt.receipt_no:
            self.receipt = None
            self.picked = {}
            self.show_receipt()

    @work(thread=True, exclusive=True, exit_on_error=False, group="refund")
    def load(self, receipt_no: str) -> None:
        try:
            receipt = self.services.refundable(receipt_no)
            # A refund of a member deny-listed since the sale stays possible.
            member = self.services.till.member(receipt.member_id, denied_ok=True)
            name = shown(member.display_name)
        except LoyaltyError as exc:
            self.post_message(m.RefundRefused(exc))
            return
        self.post_message(m.ReceiptLoaded(receipt, name))

    def on_receipt_loaded(self, event: m.ReceiptLoaded) -> None:
        again = self.receipt is not None and self.receipt.receipt_no == event.receipt.receipt_no
        self.receipt = event.receipt
        self.member_name = event.member_name
        self.picked = {}
        self.say(None)
        if not again:  # reloaded after a refund: its result stays in view
            self.tell("result", None)
        self.show_receipt()
        if event.receipt.left_minor == 0:
            done = Refused("already_refunded", receipt=event.receipt.receipt_no)
            self.say(lambda: self.till_app.describe(done))

    def show_receipt(self) -> None:
        t = self.t
        table: DataTable[str] = self.query_one("#refund-lines", DataTable)
        amount = self.query_one("#amount", Input)
        row = table.cursor_row
        table.clear(columns=True)
        receipt = self.receipt
        amount.disabled = receipt is None or receipt.left_minor == 0
        if receipt is None:
            self.query_one("#receipt-info", Static).update("")
            self.query_one("#picked", Static).update("")
            return
        table.add_columns(
            t("app.refund.col.code"),
            t("app.refund.col.category"),
            t("app.refund.col.paid"),
            t("app.refund.col.left"),
            t("app.refund.col.refund"),
        )
        money = self.money
        for line in receipt.lines:
            picked = self.picked.get(line.sku)
            table.add_row(
                line.sku,
                line.category,
                money(line.bought_minor),
                money(line.left_minor),
                money(picked) if picked else "",
                key=line.sku,
            )
        table.move_cursor(row=min(max(row, 0), len(receipt.lines) - 1))
        when = t.datetime(from_text(receipt.occurred_at), self.services.till.program.timezone)
        self.query_one("#receipt-info", Static).update(
            t("app.refund.of", date=when, member=self.member_name, left=money(receipt.left_minor))
        )
        total = sum(self.picked.values())
        self.query_one("#picked", Static).update(
            t("app.refund.picked", amount=money(total)) if total else ""
        )
        if not amount.disabled:
            amount.focus()

    def money(self, amount_minor: int) -> str:
        return self.t.money(amount_minor, self.services.currency)

    # -- picking --------------------------------------------------------------------------------
    def current_line(self) -> RefundableLine | None:
        if self.receipt is None or not self.receipt.lines:
            return None
        row = self.query_one("#refund-lines", DataTable).cursor_row
        return self.receipt.lines[min(max(row, 0), len(self.receipt.lines) - 1)]

    def action_line(self, step: int) -> None:
        table: DataTable[str] = self.query_one("#refund-lines", DataTable)
        if table.row_count:
            table.move_cursor(row=(table.cursor_row + step) % table.row_count)

    @on(Input.Submitted, "#amount")
    def amount_typed(self, event: Input.Submitted) -> None:
        line = self.current_line()
        if line is None:
            return
        text = event.value.strip()
        if not text:  # Enter alone: the whole line, or leave it again
            if line.sku in self.picked:
                del self.picked[line.sku]
            elif line.left_minor:
                self.picked[line.sku] = line.left_minor
            else:
                sku = line.sku
                self.say(lambda: self.t("app.refund.line_done", line=sku))
                return
        else:
            try:
                amount = read_amount(
                    text, AmountRules.for_till(self.services.till.program, self.services.config.raw)
                )
                if amount == 0:
                    raise BadInput("amount_missing")
                if amount > line.left_minor:
                    raise BadInput(
                        "refund_exceeds_sale", sku=line.sku, remaining_minor=line.left_minor
                    )
            except LoyaltyError as exc:
                error = exc
                self.say(lambda: self.till_app.describe(error))
                return
            self.picked[line.sku] = amount
        event.input.value = ""
        self.say(None)
        self.show_receipt()

    def action_everything(self) -> None:
        """The whole receipt: every line's whole remaining amount (still confirmed)."""
        receipt = self.receipt
        if receipt is None:
            self.say(lambda: self.t("app.refund.no_receipt"))
            return
        if receipt.left_minor == 0:
            done = Refused("already_refunded", receipt=receipt.receipt_no)
            self.say(lambda: self.till_app.describe(done))
            return
        self.picked = {line.sku: line.left_minor for line in receipt.lines if line.left_minor}
        self.say(None)
        self.show_receipt()

    # -- confirm, then refund -------------------------------------------------------------------
    def action_confirm(self) -> None:
        receipt = self.receipt
        if receipt is None:
            self.say(lambda: self.t("app.refund.no_receipt"))
            return
        if not self.picked:
            self.say(lambda: self.t("app.refund.nothing_picked"))
            return
        cashier = self.till_app.cashier
        assert cashier is not None
        lines = [BasketLine(sku, "-", amount) for sku, amount in self.picked.items()]
        self.preview(receipt.receipt_no, cashier.cashier_id, lines)

    @work(thread=True, exclusive=True, exit_on_error=False, group="refund")
    def preview(self, receipt_no: str, cashier_id: str, lines: list[BasketLine]) -> None:
        try:
            result = self.services.refund_preview(receipt_no, cashier_id, lines)
        except LoyaltyError as exc:
            self.post_message(m.RefundRefused(exc))
            return
        self.post_message(m.RefundPreviewed(result, lines))

    def on_refund_previewed(self, event: m.RefundPreviewed) -> None:
        r = event.result

        def question() -> str:
            return self.t(
                "app.refund.confirm", amount=self.money(r.amount_minor), receipt=r.refund_of
            )

        def details() -> str:
            t = self.t
            text = t(
                "app.refund.confirm_points",
                reversed=t.number(r.points_reversed),
                returned=t.number(r.points_returned),
                balance=t.number(r.after.available),
            )
            if r.shortfall:
                text += "\n" + t("app.refund.shortfall", points=t.number(r.shortfall))
            return text

        cashier = self.till_app.cashier
        assert cashier is not None
        request = (r.refund_of, cashier.cashier_id, event.lines)

        def answered(yes: bool | None) -> None:
            if yes:
                self.commit(*request)

        self.app.push_screen(ConfirmDialog(question, details), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="refund")
    def commit(self, receipt_no: str, cashier_id: str, lines: list[BasketLine]) -> None:
        try:
            result = self.services.refund(receipt_no, cashier_id, lines)
        except LoyaltyError as exc:
            self.post_message(m.RefundRefused(exc))
            return
        self.post_message(m.RefundCommitted(result))

    def on_refund_refused(self, event: m.RefundRefused) -> None:
        self.say(lambda: self.till_app.describe(event.error))

    def on_refund_committed(self, event: m.RefundCommitted) -> None:
        r = event.result
        self.say(None)

        def done() -> str:
            t = self.t
            return t(
                "app.refund.done",
                receipt=r.receipt_no,
                amount=self.money(r.amount_minor),
                reversed=t.number(r.points_reversed),
                balance=t.number(r.after.available),
            )

        self.tell("result", done)
        self.load(r.refund_of)  # what is left now

    def say(self, say: Say | None) -> None:
        self.tell("message", say)

    def relabelled(self) -> None:
        self.show_receipt()

    def action_cancel(self) -> None:
        self.app.pop_screen()
