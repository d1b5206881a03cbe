"""The cashier's screen shows what the shop's POS did through the till (terminal/pos/events.py,
heard through ``TillServices.pos_did``): the idle screen shows the member and the last sale, a
toast says what happened, and a sale the till has open for the member the POS just sold to is
closed (keyed again, it would earn twice)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loyalty.program import localised
from terminal.app import messages as m
from terminal.shown import shown

if TYPE_CHECKING:
    from terminal.app.app import TillApp


def show_pos_event(app: TillApp, message: m.PosActed) -> None:
    """A member identified, a sale or a refund recorded, or a receipt printed without
    loyalty; the member's name and figures only while a cashier is at the till (not locked)."""
    from terminal.app.screens.idle import IdleScreen
    from terminal.app.screens.lock import LockScreen
    from terminal.app.screens.sale import SaleScreen
    from terminal.pos import events as pos

    event, view, t = message.event, message.view, app.t
    idle = next((s for s in app.screen_stack if isinstance(s, IdleScreen)), None)
    present = app.cashier is not None and not isinstance(app.screen, LockScreen)
    if isinstance(event, pos.PosReceiptPassed):
        text = pos.passed_text(t, event, app.services.currency)
        app.notify(text, severity="warning", timeout=30, markup=False)
        return
    if idle is not None and view is not None:
        idle.show_pos_member(view)
    if isinstance(event, pos.PosIdentified):
        text = t("app.pos.identified", name=shown(event.display_name),
                 balance=t.number(event.balance.available))  # fmt: skip
    elif isinstance(event, pos.PosSold):
        app.refresh_counts()
        result = event.result
        points, balance = t.number(result.points_earned), t.number(result.after.available)
        text = t("app.pos.sold", receipt=result.receipt_no, points=points, balance=balance)
        reward = app.services.till.program.reward(event.reward_id or "")
        if reward is not None:
            text += "\n" + t("app.pos.reward", reward=localised(reward.name, app.language))
        screen = app.screen
        if (
            isinstance(screen, SaleScreen)
            and screen.view is not None
            and screen.view.member.member_id == event.member_id
        ):
            app.pop_screen()
            text += "\n" + t("app.pos.sale_closed")
        if idle is not None:
            idle.show_last(result)
    elif isinstance(event, pos.PosRefunded):
        app.refresh_counts()
        refund = event.result
        text = t("app.pos.refunded", receipt=refund.receipt_no, sale=refund.refund_of,
                 points=t.number(refund.points_returned - refund.points_reversed))  # fmt: skip
    else:
        return
    if present:
        app.notify(text, markup=False)
