"""Everything the till app calls, in one object the app and its tests share: the loyalty till,
the print queue, the scanner and the head-office client. It wires; it holds no rule of its own
(the rules are in loyalty/). Its methods block, so the app calls them from thread workers.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from display.touch import ShopperInput
from loyalty import ledger, members, offers, policy, refunds, reports, sales, till_records
from loyalty.balance import Balance
from loyalty.channel_activity import Activity
from loyalty.engagement_at_till import record as record_engagement
from loyalty.errors import NotFound
from loyalty.members import Member
from loyalty.offers import MemberOffer
from loyalty.policy import Authorisation, Override
from loyalty.program import Reward
from loyalty.refunds import RefundResult
from loyalty.reports import DayReport
from loyalty.rules import BasketLine
from loyalty.sales import SaleRequest, SaleResult
from loyalty.terms import Terms
from loyalty.till import Enrolment, Till
from loyalty.till_records import LockoutReset
from printer import Job
from terminal import channel_text
from terminal.auth import Cashier, LockedOut
from terminal.config import Config
from terminal.pin_lockout import SharedPinGuard, shared_guard
from terminal.scanning import AppCodeUse

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class MemberView:
    """What the member panel shows."""

    member: Member
    balance: Balance
    affordable: tuple[Reward, ...]
    other_rewards: tuple[Reward, ...]
    offline_now: int = 0  # points redeemable now without head office (loyalty.policy)
    app_code: AppCodeUse | None = None  # the app code scanned for this sale: it spends it
    offers: tuple[MemberOffer, ...] = ()  # the member's personal offers in their period now
    online: tuple[Activity, ...] = ()  # their newest activity on the channels (web shop, app)


class PrinterHook(Protocol):
    """The receipt printer's queue (terminal/printing.py ``ReceiptPrinter``)."""

    uncertain: list[Job]  # jobs a crash left half-sent: the cashier says whether they printed

    def enqueue_sale(self, result: SaleResult) -> object: ...
    def enqueue_refund(self, result: RefundResult) -> object: ...
    def enqueue_welcome(self, enrolment: Enrolment) -> object: ...
    def enqueue_day_report(self, report: DayReport) -> object: ...
    def reprint(self, receipt_no: str) -> str: ...
    def preview(self, receipt_no: str) -> str: ...
    def resolve(self, job_id: int, printed: bool) -> object: ...
    def close(self) -> None: ...


class HeadOfficeHook(Protocol):
    """Head office (terminal/syncing.py ``HeadOfficeLink``); it reports through ``listener``."""

    def start(self, listener: Callable[[Any], object]) -> None: ...
    def sync_now(self) -> None: ...
    def sale_committed(self) -> None: ...
    def authorise(self, member_id: str, points: int) -> Authorisation: ...
    def refresh_members(self) -> bool: ...
    def capture(self, authorisation: Authorisation, receipt_no: str) -> None: ...
    def close(self) -> None: ...


class ScannerHook(Protocol):
    """Member codes (terminal/scanning.py ``TillScanner``)."""

    def check(self, code: str, now: dt.datetime) -> object: ...
    def app_code(self, code: str, now: dt.datetime) -> AppCodeUse | None: ...
    def spend(self, use: AppCodeUse, receipt_no: str, now: dt.datetime) -> None: ...
    def close(self) -> None: ...


class DisplayHook(Protocol):
    """The shopper display's feed (terminal/shopper_feed.py ``ShopperFeed``): every call
    returns at once, the feed's own thread builds and publishes the view."""

    def member_identified(
        self,
        display_name: str,
        language: str,
        balance: Balance,
        offers: tuple[MemberOffer, ...] = (),
        referral_code: str = "",
    ) -> None: ...
    def basket_previewed(self, result: SaleResult) -> None: ...
    def sale_committed(self, result: SaleResult) -> None: ...
    def cleared(self) -> None: ...
    def closed(self) -> None: ...
    def stop(self) -> None: ...
    # The shopper's touch input (display/touch.py): asked for by the cashier, answered
    # through ``on_shopper`` (on the display server's thread).
    def ask_phone(self) -> None: ...
    def ask_terms(self, language: str, terms: Terms) -> None: ...
    def phone_refused(self) -> None: ...
    def stop_asking(self) -> None: ...
    @property
    def touch(self) -> bool: ...
    @property
    def paired_url(self) -> str: ...

    on_shopper: Callable[[ShopperInput], None] | None


@dataclass(frozen=True, slots=True)
class HeadOfficeDown:
    """Why the head office this till should have is not there (the demo's local one did not
    start): ``missing_extra`` (``detail`` names the module) or ``did_not_start`` (``detail``
    is the server's last error line)."""

    reason: str
    detail: str


@dataclass
class TillServices:
    till: Till
    config: Config
    cashiers: dict[str, Cashier]
    clock: Clock = system_clock
    # Hooks other parts fill in (printer queue, scanner, head office); None means not present.
    printer: PrinterHook | None = None
    sync: HeadOfficeHook | None = None
    scanner: ScannerHook | None = None
    display: DisplayHook | None = None  # the shopper display, when configured
    display_down: str | None = None  # why the configured shopper display did not start
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Wrong PINs per cashier id, on this till's clock (sign-in, lock screen, overrides), kept
    # in the till's SQLite: a restart does not clear them and the CLI counts toward the same.
    pins: SharedPinGuard = field(init=False)
    # Set when head office should be there but could not start; the status line says why.
    headoffice_down: HeadOfficeDown | None = None
    # Where device events go (the app's post_message, which is thread-safe).
    listener: Callable[[Any], object] | None = None
    # The cashier signed in at the app now (set by the app): the POS's sales are theirs.
    cashier_on_duty: str | None = None

    def __post_init__(self) -> None:
        self.pins = shared_guard(self.till.db, self.config.raw)

    @property
    def currency(self) -> str:
        return self.till.program.currency

    def now(self) -> dt.datetime:
        return self.clock()

    def sign_in(self, cashier_id: str, pin: str) -> Cashier | LockedOut | None:
        """A cashier id and PIN, behind the lock-out after repeated wrong PINs."""
        return self.pins.sign_in(self.cashiers, cashier_id, pin, self.now())

    def lockout(self, cashier_id: str) -> LockedOut | None:
        """Is this id (as typed) locked out after repeated wrong PINs?"""
        return self.pins.locked(SharedPinGuard.key_for(self.cashiers, cashier_id), self.now())

    def reset_lockout(self, locked: LockedOut, override: Override) -> None:
        """A manager (``override``: their id, checked with their PIN, and why) clears a PIN
        lock-out; recorded in the till's SQLite in the transaction that clears the shared count,
        so the id may try again in the app and at the command line."""
        reset = LockoutReset(self.now(), locked.cashier_id, override.manager_id, override.reason)
        with self.till.db.write() as conn:
            till_records.record_lockout_reset(conn, reset)
            self.pins.clear(conn, locked.cashier_id)

    def printed(self, receipt_no: str, printed: bool, state: str) -> None:
        """The print worker's report (from its thread)."""
        from terminal.app import messages as m

        if self.listener is not None:
            event = m.ReceiptPrinted(receipt_no) if printed else m.PrintFailed(receipt_no, state)
            self.listener(event)

    def pos_did(self, event: object) -> None:
        """What the POS did through the till (terminal/pos/events.py), from the API's or the
        bridge's thread: the app hears it with the member as they stand now (read here, off the
        app's thread)."""
        from terminal.app import messages as m

        if self.listener is None:
            return
        member_id = getattr(event, "member_id", None)
        if member_id is None:
            result = getattr(event, "result", None)
            member_id = result.after.member_id if result is not None else None
        view = self.member_view(str(member_id)) if member_id else None
        self.listener(m.PosActed(event, view))

    # -- members ----------------------------------------------------------------------------
    def identify(self, code: str) -> Member:
        """A typed or scanned code: a signed app code, a card number (also typed through another
        keyboard layout), a member id or a phone number. A forged, expired, replayed or revoked
        code raises the scanner's refusal (a ValueError whose text is the reason)."""
        return self.identify_scan(code)[0]

    def identify_scan(self, code: str) -> tuple[Member, AppCodeUse | None]:
        """``identify``, and the app code when it was one: the sale it opens spends it."""
        code = code.strip()
        if self.scanner is not None:
            use = self.scanner.app_code(code, self.now())
            if use is not None:
                return self.till.member(use.member_id), use
            checked = self.scanner.check(code, self.now())
            card = getattr(checked, "card_number", None)
            if card:
                return self.till.find_member(card), None
        return self.till.find_member(code), None

    def find_by_name(self, text: str, limit: int) -> list[Member]:
        """Active cached members whose name matches ``text``; ``limit + 1`` at most."""
        with self.till.db.read() as conn:
            return members.by_name(conn, text, limit)

    def member_view(self, member_id: str) -> MemberView:
        member = self.till.member(member_id)
        balance = self.till.balance(member_id, self.now())
        mine = offers.at_till(self.till, member_id, self.now())
        # A personal reward offer: that reward at the member's own cost.
        program, _ = offers.personal_rewards(self.till.program, mine)
        tier = balance.tier_id  # as of now: a tier whose year has ended is not offered
        usable = [r for r in program.rewards if not r.tiers or tier in r.tiers]
        affordable = tuple(r for r in usable if r.cost_points <= balance.available)
        others = tuple(r for r in program.rewards if r not in affordable)
        return MemberView(
            member, balance, affordable, others, self.offline_now(balance), offers=mine,
            online=channel_text.recent(self.till, member.member_id),
        )  # fmt: skip

    def offline_now(self, balance: Balance) -> int:
        """What the offline policy would let this member redeem at this till now: the same
        figures a sale's decision reads (unacknowledged offline redemptions, the snapshot's age
        on head office's clock)."""
        till = self.till
        with till.db.read() as conn:
            member_used = ledger.offline_redeemed(conn, balance.member_id)
            till_used = ledger.offline_redeemed(conn)
        return policy.offline_limit(
            till.program.offline,
            balance.available,
            member_used,
            till_used,
            balance.as_of,
            till.headoffice_time(self.now()),
        )

    # -- sales ------------------------------------------------------------------------------
    def preview(self, req: SaleRequest) -> SaleResult:
        with self.lock:
            return sales.preview(self.till, req, self.now())

    def sell(self, req: SaleRequest, app_code: AppCodeUse | None = None) -> SaleResult:
        """Commit the sale; ``app_code``, the code scanned for it, is spent in the sale's own
        transaction (a code of another member is not this sale's)."""
        code = app_code.for_sale(req.member_id) if app_code is not None else None
        with self.lock:
            result = sales.sale(self.till, replace(req, app_code=code), self.now())
        if self.scanner is not None and app_code is not None and code is not None:
            self.scanner.spend(app_code, result.receipt_no, self.now())
        if self.sync is not None:
            if req.authorisation is not None:
                self.sync.capture(req.authorisation, result.receipt_no)
            self.sync.sale_committed()
        if self.printer is not None:
            self.printer.enqueue_sale(result)
        return result

    def refundable(self, receipt_no: str) -> refunds.Refundable:
        return refunds.refundable(self.till, receipt_no)

    def refund_preview(
        self, receipt_no: str, cashier_id: str, lines: list[BasketLine]
    ) -> RefundResult:
        with self.lock:
            return refunds.preview(self.till, receipt_no, cashier_id, lines, self.now())

    def refund(
        self, receipt_no: str, cashier_id: str, lines: list[BasketLine] | None
    ) -> RefundResult:
        with self.lock:
            result = refunds.refund(self.till, receipt_no, cashier_id, lines, self.now())
        if self.printer is not None:
            self.printer.enqueue_refund(result)
        return result

    def check_in_by_phone(self, phone: str) -> MemberView:
        """The member whose phone the shopper typed on the display: the phone read by the
        rules of the cashier's own look-up (BadInput when it is no phone number), and only
        as a phone (never a card number or a member id)."""
        with self.lock:
            member = self.till.find_by_phone(phone)
        return self.member_view(member.member_id)

    def enrol(
        self,
        name: str,
        cashier_id: str,
        language: str,
        phone: str | None,
        birthday: str | None,
        referred_by: str | None = None,
        shopper_terms: str | None = None,
    ) -> Enrolment:
        """``shopper_terms``: the shopper accepted the terms of this version on the display
        (their consent is recorded as given by them); else the cashier recorded it."""
        if phone and self.sync is not None:
            self.sync.refresh_members()  # a phone head office knows is refused, not doubled
        with self.lock:
            enrolment = self.till.enroll(
                name, cashier_id, True, language, phone or None, birthday or None, self.now(),
                referred_by=referred_by or None,
                consent_by="shopper" if shopper_terms else "cashier",
                terms_version=shopper_terms,
            )  # fmt: skip
        if self.printer is not None:
            self.printer.enqueue_welcome(enrolment)
        return enrolment

    def engage(self, member_id: str, action: str, cashier_id: str) -> None:
        """An engagement action the cashier records at the till (loyalty/engagement_at_till)."""
        with self.lock:
            record_engagement(self.till, member_id, action, cashier_id, self.now())

    def reprint(self, receipt_no: str) -> str:
        self.till.sale_record(receipt_no)  # NotFound for an unknown receipt
        if self.printer is None:
            raise NotFound("unknown_receipt", receipt=receipt_no)
        return str(self.printer.reprint(receipt_no))

    def receipt_preview(self, receipt_no: str) -> str:
        if self.printer is None:
            return ""
        return str(self.printer.preview(receipt_no))

    def day_report(self, day: dt.date | None = None) -> DayReport:
        if day is None:
            day = self.now().astimezone(self.till.program.timezone).date()
        return reports.day_report(self.till, day)

    def close(self) -> None:
        for part in (self.scanner, self.printer, self.sync):
            stop = getattr(part, "close", None)
            if stop is not None:
                stop()
        if self.display is not None:
            self.display.stop()
        self.till.close()
