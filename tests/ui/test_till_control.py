"""Till control: a [keys] table that names a binding the till does not have is reported at
start (it would otherwise be silently ignored), while the ids it does have still work."""

from __future__ import annotations

from terminal.app.screens.enrol import EnrolScreen
from terminal.app.services import TillServices
from tests.ui.conftest import make_app
from tests.ui.test_flows import settle, sign_in


async def test_an_unknown_binding_id_is_reported_at_start(services: TillServices) -> None:
    app = make_app(services, keymap={"idle.enroll": "f11", "idle.enrol": "f12"})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        toasts = [n.message for n in app._notifications]
        assert any("names bindings the till does not have: idle.enroll" in x for x in toasts)
        assert not any("idle.enrol " in x or "idle.enrol," in x for x in toasts)
        await sign_in(pilot)
        await pilot.press("f12")  # the id it knows is remapped all the same
        await settle(pilot)
        assert isinstance(app.screen, EnrolScreen)


async def test_a_keymap_of_known_ids_reports_nothing(services: TillServices) -> None:
    app = make_app(services, keymap={"sale.confirm": "f11", "refund.everything": "f8"})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not [n for n in app._notifications if "bindings" in n.message]
