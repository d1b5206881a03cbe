"""At enrolment the cashier ticks the engagement actions that happen at the till (a profile
completed, an email sign-up): the new member gets each rule's points, recorded as entries that
sync; the boxes are labelled with the program's names in the cashier's language."""

from __future__ import annotations

from textual.widgets import Checkbox

from loyalty import ledger
from terminal.app import messages as m
from terminal.app.screens.enrol import EnrolScreen
from terminal.app.screens.sale import SaleScreen
from terminal.app.services import TillServices
from tests.ui.conftest import make_app
from tests.ui.test_flows import SIZE, events, settle, sign_in, text_of, type_in


async def test_profile_completed_at_enrolment(services: TillServices) -> None:
    app = make_app(services)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, EnrolScreen)
        boxes = {str(b.id): str(b.label) for b in app.screen.query(".engage").results(Checkbox)}
        assert boxes == {"engage-profile_completed": "Profile completed (points: 100)",
                         "engage-email_signup": "Email sign-up (points: 25)"}  # fmt: skip
        await type_in(pilot, "Zofia Kowalska", enter=False)
        app.screen.query_one("#consent", Checkbox).value = True
        app.screen.query_one("#engage-profile_completed", Checkbox).value = True
        await pilot.press("f10")
        await settle(pilot)
        (enrolled,) = events(app, m.MemberEnrolled)
        assert isinstance(app.screen, SaleScreen)
        member_id = enrolled.enrolment.member.member_id
        with services.till.db.read() as conn:
            mine = ledger.unacked_for_member(conn, member_id)
        bonuses = [(e.kind, e.points, e.reason) for e in mine if e.kind != "enroll"]
        assert bonuses == [("bonus", 100, "engage:profile_completed")]
        assert services.till.balance(member_id, services.now()).pending == 100
        assert "Zofia Kowalska" in text_of(app, "#member")
