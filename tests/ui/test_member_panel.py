"""The member panel and rewards (80x24): a blocked member is refused at the look-up (no panel
with rewards to offer), rewards the member's tier does not allow say which tiers do, and the
picked reward is marked."""

from __future__ import annotations

from textual.widgets import OptionList

from terminal.app.screens.sale import SaleScreen
from terminal.app.services import TillServices
from tests.ui.conftest import make_app
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
