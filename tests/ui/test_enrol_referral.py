"""A careless cashier at the enrolment screen (80x24): a friend's referral code typed with one
character wrong is refused with what to do and nobody is enrolled; typed right (in lower case,
with a space), the member is enrolled with it and the receipt slip says so."""

from __future__ import annotations

from textual.widgets import Checkbox, Input

from loyalty import referrals
from terminal.app import messages as m
from terminal.app.screens.enrol import EnrolScreen
from terminal.app.screens.sale import SaleScreen
from terminal.app.services import TillServices
from tests.ui.conftest import make_app
from tests.ui.test_flows import SIZE, events, settle, sign_in, text_of, type_in


async def test_a_mistyped_referral_code_enrols_nobody_and_the_right_one_is_kept(
    services: TillServices,
) -> None:
    anna = services.till.enroll("Anna", "anna", True).member
    code = anna.referral_code
    assert code is not None
    typo = code[:6] + ("Z" if code[6] != "Z" else "Y") + code[7]
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, EnrolScreen)
        await type_in(pilot, "Zofia Kowalska", enter=False)
        app.screen.query_one("#referral", Input).value = referrals.shown(typo)
        app.screen.query_one("#consent", Checkbox).value = True
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, EnrolScreen)
        assert "referral code is mistyped" in text_of(app, "#message")
        assert events(app, m.MemberEnrolled) == []
        app.screen.query_one("#referral", Input).value = f"{code[:4].lower()} {code[4:]}"
        await pilot.press("f10")
        await settle(pilot)
        (enrolled,) = events(app, m.MemberEnrolled)
        assert isinstance(app.screen, SaleScreen)
        assert enrolled.enrolment.referred_by == code
        with services.till.db.read() as conn:
            rows = conn.execute("SELECT display_name, referred_by FROM enrolments").fetchall()
        assert sorted(tuple(r) for r in rows) == [("Anna", None), ("Zofia Kowalska", code)]
