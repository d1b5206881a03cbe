"""The member panel and rewards (80x24): a blocked member is refused at the look-up (no panel
with rewards to offer), rewards the member's tier does not allow say which tiers do, and the
picked reward is marked."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from textual.widgets import OptionList

from terminal.app.screens.sale import SaleScreen
from terminal.app.services import TillServices
from tests.printer_server import FakeNetworkPrinter
from tests.ui.conftest import NOW, make_app, make_services
from tests.ui.test_flows import settle, sign_in, text_of, type_in

SIZE = (80, 24)


def options(app) -> list[tuple[str, bool]]:  # type: ignore[no-untyped-def]
    rewards = app.screen.query_one("#rewards", OptionList)
    return [
        (str(rewards.get_option_at_index(i).prompt), rewards.get_option_at_index(i).disabled)
        for i in range(rewards.option_count)
    ]


async def test_a_blocked_member_is_refused_at_look_up_and_offered_nothing(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await type_in(pilot, "M000004")  # blocked, 900 points on the books
        await settle(pilot)
        assert not isinstance(app.screen, SaleScreen)
        assert "M000004 is blocked" in text_of(app, "#message")


async def test_tier_locked_rewards_say_which_tiers_and_the_picked_one_is_marked(
    services: TillServices,
) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await type_in(pilot, "M000001")  # Eleni, Olive, 1,200 points
        await settle(pilot)
        labels = dict(options(app))
        tasting = next(label for label in labels if "tasting" in label)
        assert tasting.endswith("for Laurel only") and labels[tasting]
        ten = next(label for label in labels if "10%" in label or "ten" in label.lower())
        assert ten.endswith("for Oak or Laurel only")
        rewards = app.screen.query_one("#rewards", OptionList)
        rewards.highlighted = 0
        rewards.action_select()
        await settle(pilot)
        first = options(app)[0][0]
        assert first.startswith("▶ ")
        assert sum(label.startswith("▶") for label, _ in options(app)) == 1


def panel(app) -> str:  # type: ignore[no-untyped-def]
    return text_of(app, "#member")


async def test_the_panel_says_what_can_be_redeemed_offline_now(services: TillServices) -> None:
    """min(available, the member's allowance left, the till's budget left): Eleni's 1,200
    points are capped by the 1,000 allowance; after she pays 500 points offline, 500 are left;
    Ioana's 300 are all hers to redeem."""
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await type_in(pilot, "M000001")
        await settle(pilot)
        assert "Points available: 1,200" in panel(app)
        assert "Redeemable offline now: 1,000" in panel(app)
        await type_in(pilot, "20.00")  # total
        await pilot.press("enter")  # lines: none
        await type_in(pilot, "500", enter=False)  # points as payment
        await settle(pilot)
        assert "New balance (pending not included): 700" in text_of(app, "#preview")
        await pilot.press("f10")
        await settle(pilot)
        assert not isinstance(app.screen, SaleScreen)
        await type_in(pilot, "M000001")
        await settle(pilot)
        assert "Redeemable offline now: 500" in panel(app)
        await pilot.press("escape")
        await settle(pilot)
        await type_in(pilot, "M000003")
        await settle(pilot)
        assert "Redeemable offline now: 300" in panel(app)


async def test_nothing_is_redeemable_offline_on_a_snapshot_too_old(
    tmp_path: Path, printer_server: FakeNetworkPrinter
) -> None:
    """The members' snapshot is 2 hours old at NOW; 3 days later it is past the 72-hour limit."""
    services = make_services(tmp_path, printer_server.url, clock=NOW + dt.timedelta(days=3))
    app = make_app(services)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot)
            await type_in(pilot, "M000002")  # Piotr, 5,000 points
            await settle(pilot)
            assert "Points available: 5,000" in panel(app)
            assert "Redeemable offline now: 0" in panel(app)
    finally:
        services.close()


async def test_the_panel_shows_what_the_member_did_online(services: TillServices) -> None:
    """Channel activity the pull brought (loyalty/channel_activity.py) is on the panel, the
    newest first, in the cashier's language."""
    from loyalty import channel_activity

    rows = [
        {"member_id": "M000001", "channel_id": "web", "kind": kind, "ref": ref, "points": pts,
         "amount_minor": amount, "occurred_at": f"2026-11-2{day}T10:00:00.000000Z",
         "action": action}
        for kind, ref, pts, amount, day, action in (
            ("purchase", "W-1", 150, 2500, 1, None),
            ("event", "R-1", 50, 0, 2, "review_written"),
            ("redemption", "X-1", -300, 0, 3, None),
        )
    ]  # fmt: skip
    with services.till.db.write() as conn:
        channel_activity.store(conn, rows, "2026-11-24T10:00:00.000000Z")
    app = make_app(services)
    async with app.run_test(size=(80, 40)) as pilot:
        await sign_in(pilot)
        await type_in(pilot, "M000001")
        await settle(pilot)
        panel = text_of(app, "#member")
        lines = [x for x in panel.splitlines() if "online" in x or "Thank you" in x]
        assert lines == ["Points used online — points: 300",
                         "Thank you: Review written — points: 50",
                         "Bought online, €25.00 — points: 150"]  # fmt: skip


async def test_the_panel_shows_the_member_s_referral_code_to_give_to_friends(
    services: TillServices,
) -> None:
    """A member enrolled here has a referral code at once (loyalty/referrals.py): the panel
    shows it as printed, in two groups of four."""
    enrolled = services.till.enroll("Zofia Nowak", "anna", True, "pl").member
    code = enrolled.referral_code
    assert code is not None
    app = make_app(services)
    async with app.run_test(size=(80, 40)) as pilot:
        await sign_in(pilot)
        await type_in(pilot, enrolled.member_id)
        await settle(pilot)
        assert f"Referral code: {code[:4]}-{code[4:]}" in text_of(app, "#member")
