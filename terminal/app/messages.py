"""Events the app's workers and widgets post: small dataclasses, past tense."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from loyalty.errors import LoyaltyError
from loyalty.refunds import Refundable, RefundResult
from loyalty.rules import BasketLine
from loyalty.sales import SaleResult
from loyalty.till import Enrolment
from terminal.app.services import MemberView


@dataclass
class MemberScanned(Message):
    """A code arrived from a keyboard-wedge scanner, the camera or the keyboard."""

    code: str
    source: str  # wedge | camera | typed


@dataclass
class MemberIdentified(Message):
    view: MemberView


@dataclass
class LookupFailed(Message):
    error: LoyaltyError | None
    reason: str | None = None  # a scanner refusal code when the code itself was refused


@dataclass
class SaleCommitted(Message):
    result: SaleResult


@dataclass
class SaleRefused(Message):
    error: LoyaltyError


@dataclass
class ReceiptLoaded(Message):
    """The receipt a refund starts from, with what each line has left."""

    receipt: Refundable
    member_name: str


@dataclass
class RefundPreviewed(Message):
    """What the picked refund would do; nothing written yet."""

    result: RefundResult
    lines: list[BasketLine]


@dataclass
class RefundRefused(Message):
    error: LoyaltyError


@dataclass
class RefundCommitted(Message):
    result: RefundResult


@dataclass
class MemberEnrolled(Message):
    enrolment: Enrolment


@dataclass
class ReceiptPrinted(Message):
    receipt_no: str


@dataclass
class PrintFailed(Message):
    receipt_no: str
    state: str


@dataclass
class SyncStarted(Message):
    pass


@dataclass
class SyncProgressed(Message):
    entries_left: int
    bytes_sent: int


@dataclass
class SyncCompleted(Message):
    pushed: int
    pulled: int


@dataclass
class SyncFailed(Message):
    reason: str


@dataclass
class DeviceStateChanged(Message):
    device: str  # printer | camera | headoffice
    state: str
