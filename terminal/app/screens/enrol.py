"""Enrol a new member at the till, with their consent: ticked by the cashier, or (F7, with a
touch display) accepted by the shopper on the display, for the program's terms' version there
(display/touch.py); the enrolment records which."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Checkbox, Input, Select, Static

from display.touch import AskLapsed, ShopperInput, TermsAnswered
from loyalty.engagement import EngagementRule
from loyalty.errors import LoyaltyError, Refused
from loyalty.program import localised
from terminal.app import messages as m
from terminal.app.screens.base import TillScreen, field
from terminal.i18n import LANGUAGES

LANGUAGE_NAMES = {
    "en": "English",
    "el": "Ελληνικά",
    "pl": "Polski",
    "ro": "Română",
    "th": "ไทย",
    "fa": "فارسی",
}


class EnrolScreen(TillScreen):
    BINDINGS = [
        Binding("f10", "confirm", "confirm", id="enrol.confirm"),
        Binding("escape", "cancel", "cancel", id="enrol.cancel"),
        Binding("f7", "ask_terms", "terms on display", id="enrol.ask_terms"),
    ]

    def __init__(self, phone: str = "") -> None:
        super().__init__()
        self.phone = phone  # typed by the shopper on the display (their check-in found no one)
        self.shopper_terms: str | None = None  # the version the shopper accepted on the display
        self.asked = False  # the display shows the terms (or did)

    def compose_body(self) -> ComposeResult:
        t = self.t
        yield Static(t("app.enrol.title"), classes="title")
        yield field(t("app.enrol.name"), Input(id="name"))
        yield field(t("app.enrol.phone"), Input(id="phone"))
        yield field(t("app.enrol.birthday"), Input(id="birthday", placeholder="MM-DD"))
        yield field(
            t("app.enrol.language"),
            Select(
                [(LANGUAGE_NAMES[x], x) for x in LANGUAGES],
                value=self.till_app.language,
                allow_blank=False,
                id="language",
            ),
        )
        yield field(t("app.enrol.referral_code"), Input(id="referral", placeholder="K7QM-4XR5"))
        yield Checkbox(t("app.enrol.consent"), id="consent")
        # The engagement actions a till may record (a profile completed at enrolment, ...).
        for rule in self._at_till():
            name = localised(rule.name, self.till_app.language)
            text = t("app.enrol.engage", action=name, points=t.number(rule.points))
            yield Checkbox(text, id=f"engage-{rule.action}", classes="engage")
        yield Static("", id="message", classes="error")

    def _at_till(self) -> list[EngagementRule]:
        return [r for r in self.services.till.program.engagement if r.at_till]

    def on_mount(self) -> None:
        if self.phone:
            self.query_one("#phone", Input).value = self.phone
        self.query_one("#name", Input).focus()

    # -- the shopper accepts the terms on the touch display -------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "ask_terms":
            display = self.services.display
            return display is not None and display.touch
        return True

    def action_ask_terms(self) -> None:
        display = self.services.display
        if display is None or not display.touch:
            return
        terms = self.services.till.program.terms
        if terms is None:
            self.tell("message", lambda: self.t("app.shopper.no_terms"))
            return
        display.ask_terms(str(self.query_one("#language", Select).value), terms)
        self.asked = True
        self.shopper_terms = None
        self.set_consent(False)
        self.tell("message", lambda: self.t("app.shopper.asking_terms"))

    def shopper_acted(self, item: ShopperInput) -> None:
        display = self.services.display
        if not self.asked or display is None:
            if display is not None:
                display.stop_asking()
            return
        if isinstance(item, TermsAnswered) and item.accepted:
            display.stop_asking()
            self.shopper_terms = item.version
            self.set_consent(True)
            version = item.version
            self.tell("message", lambda: self.t("app.shopper.accepted_terms", version=version))
        elif isinstance(item, TermsAnswered | AskLapsed):
            self.asked, self.shopper_terms = False, None
            self.set_consent(False)
            display.cleared()
            key = (
                "app.shopper.lapsed"
                if isinstance(item, AskLapsed)
                else "app.shopper.declined_terms"
            )
            self.tell("message", lambda: self.t(key))
        else:
            display.stop_asking()

    def set_consent(self, value: bool) -> None:
        box = self.query_one("#consent", Checkbox)
        with box.prevent(Checkbox.Changed):
            box.value = value

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        """The cashier ticked (or cleared) consent themselves: it is theirs to record now."""
        if event.checkbox.id == "consent":
            self.shopper_terms = None

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.focus_next()

    def action_confirm(self) -> None:
        if not self.query_one("#consent", Checkbox).value:
            self.tell("message", lambda: self.till_app.describe(Refused("consent_required")))
            return
        cashier = self.till_app.cashier
        assert cashier is not None
        actions = tuple(
            r.action for r in self._at_till()
            if self.query_one(f"#engage-{r.action}", Checkbox).value
        )  # fmt: skip
        self.enrol(
            self.query_one("#name", Input).value,
            cashier.cashier_id,
            str(self.query_one("#language", Select).value),
            self.query_one("#phone", Input).value.strip(),
            self.query_one("#birthday", Input).value.strip(),
            actions,
            self.query_one("#referral", Input).value.strip(),
            self.shopper_terms,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="enrol")
    def enrol(
        self, name: str, cashier: str, language: str, phone: str, birthday: str,
        actions: tuple[str, ...] = (), referral: str = "", shopper_terms: str | None = None,
    ) -> None:  # fmt: skip
        try:
            enrolment = self.services.enrol(
                name, cashier, language, phone, birthday, referral, shopper_terms
            )
        except LoyaltyError as exc:
            self.app.call_from_thread(self.refused, exc)
            return
        member_id = enrolment.member.member_id
        try:
            for action in actions:  # the member exists now: a refusal keeps them enrolled
                self.services.engage(member_id, action, cashier)
        except LoyaltyError as exc:
            self.app.call_from_thread(self.refused, exc)
        view = self.services.member_view(member_id)
        self.post_message(m.MemberEnrolled(enrolment))
        self.post_message(m.MemberIdentified(view))

    def refused(self, error: LoyaltyError) -> None:
        self.tell("message", lambda: self.till_app.describe(error))

    def on_member_enrolled(self, event: m.MemberEnrolled) -> None:
        self.notify(self.t("app.enrol.done", card=event.enrolment.card_number))

    def action_cancel(self) -> None:
        if self.asked and self.services.display is not None:
            self.services.display.cleared()  # the terms leave the display with the form
        self.app.pop_screen()
