"""What the shopper does on a touch display: type their phone number to check in, or accept the
program's terms to enrol. The display only takes the input and hands it to the till
(``on_input``, called on the server's thread: it must return at once, as a queue put does);
``terminal`` validates the phone with the cashier's own rules, looks the member up, enrols, and
decides what the page shows next. This package knows nothing of members.

The page is on the shop's network, so the design is against member enumeration and abuse:

- **Only when the cashier asks.** Input is taken only while the till asked for it (``ask``:
  the cashier pressed a key on an open till, to check a shopper in or to have them accept the
  terms), for at most ``window_s``; at any other time every input is refused (409).
- **Paired.** The till makes a pairing token per run (or takes the configured one) and hands it
  to the page in its address (``/?pair=…``, printed by ``till display``/``till run`` and shown
  to the cashier); an input without it is refused (403). Every browser may watch; only the
  paired one may type. Each ask has its own session id, so a tap meant for an earlier ask (a
  double tap, a page left open) is refused as stale.
- **One at a time.** After an input is handed over, nothing more is taken until the till
  answers (``retry``: the phone was no phone, try again; ``stop``: done).
- **Rate-limited.** At most ``TRIES_PER_ASK`` phone numbers per ask and ``per_minute`` inputs a
  minute whatever the asks; beyond that the page says to ask the cashier (429).
- **Nothing about a member is shown before the cashier confirms.** Whether the phone found a
  member or not, the page says the same ("the cashier will confirm"); the cashier's screen says
  what the shopper did (the first name and the phone's last two digits) and the cashier accepts
  or refuses. Only then does the display greet the member, as after a scan.
- **Shape first.** A phone is checked here for shape only (digits with ``+ -()``, spaces, at most
  15 digits and 40 characters: a letter, a barcode or a pasted text is refused at once, 400);
  whether it is a phone number at all is the till's to say, by the rules the cashier's look-up
  uses (loyalty.members.normalise_phone).
- **Consent.** Terms are answered for the version the page showed; the till records consent
  as given by the shopper only for the program's current version.
"""

from __future__ import annotations

import hmac
import re
import secrets
import string
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

AskKind = Literal["phone", "terms"]
# What an input got: "sent" (handed to the till), or why not.
Answer = Literal["sent", "not_paired", "not_asking", "stale", "pending", "too_many", "malformed"]
STATUS: dict[Answer, int] = {
    "sent": 202,
    "not_paired": 403,
    "not_asking": 409,
    "stale": 409,
    "pending": 409,
    "too_many": 429,
    "malformed": 400,
}
TRIES_PER_ASK = 3
PHONE_CHARS = re.compile(r"^[\d+\-() ]{1,40}\Z")  # \d: a Persian or Thai keyboard's digits too
MAX_DIGITS = 15  # E.164


@dataclass(frozen=True, slots=True)
class PhoneTyped:
    """The shopper typed a phone number (its shape checked, nothing more)."""

    session: str
    phone: str


@dataclass(frozen=True, slots=True)
class TermsAnswered:
    """The shopper accepted (or declined) the terms of ``version``, as the page showed them."""

    session: str
    version: str
    accepted: bool


@dataclass(frozen=True, slots=True)
class AskLapsed:
    """Nobody finished within the ask's window (the shopper left mid-way)."""

    session: str


ShopperInput = PhoneTyped | TermsAnswered | AskLapsed


def phone_shape(text: str) -> str | None:
    """``text`` as a phone the till may look at, or None when it cannot be one by its shape."""
    text = " ".join(text.split())
    if not PHONE_CHARS.match(text):
        return None
    text = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)
    if "+" in text[1:]:
        return None
    digits = sum(ch.isdigit() for ch in text)
    return text if 1 <= digits <= MAX_DIGITS else None


class Desk:
    """The one place shopper input passes through (see the module's docstring)."""

    def __init__(
        self,
        on_input: Callable[[ShopperInput], None],
        token: str = "",
        per_minute: int = 6,
        window_s: float = 90.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.on_input = on_input
        self.token = token or secrets.token_urlsafe(16)
        self.per_minute = per_minute
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._kind: AskKind | None = None
        self._session = ""
        self._version = ""
        self._pending = False
        self._tries = 0
        self._recent: deque[float] = deque()
        self._timer: threading.Timer | None = None

    # -- the till's side ---------------------------------------------------------------------
    def ask(self, kind: AskKind, version: str = "") -> str:
        """Take one input of ``kind`` (for the terms of ``version``); returns the session id
        the page must send back. Any earlier ask ends."""
        # Letters only: a view's texts mask long runs of digits (display.text), an id too.
        session = "".join(secrets.choice(string.ascii_lowercase) for _ in range(16))
        with self._lock:
            self._kind, self._session, self._version = kind, session, version
            self._pending, self._tries = False, 0
            self._arm_timer(session)
        return session

    def retry(self) -> None:
        """The input was handed over and is refused by the till (no phone number): the same
        ask takes another, within its tries."""
        with self._lock:
            self._pending = False

    def stop(self) -> None:
        """No input is taken any more (done, refused by the cashier, or the sale moved on)."""
        with self._lock:
            self._kind, self._session, self._pending = None, "", False
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    @property
    def asking(self) -> AskKind | None:
        with self._lock:
            return self._kind

    def _arm_timer(self, session: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
        timer = threading.Timer(self.window_s, self._lapse, (session,))
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _lapse(self, session: str) -> None:
        with self._lock:
            if self._session != session:
                return
            self._kind, self._session, self._pending, self._timer = None, "", False, None
        self.on_input(AskLapsed(session))

    # -- the page's side (the server's thread) -----------------------------------------------
    def submit(self, token: str, session: str, kind: str, value: str | bool) -> Answer:
        """One input from the page; what it got (``STATUS`` maps it to the HTTP status)."""
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return "not_paired"
        now = self._clock()
        with self._lock:
            if self._kind is None:
                return "not_asking"
            if session != self._session or kind != self._kind:
                return "stale"
            if self._pending:
                return "pending"
            while self._recent and now - self._recent[0] > 60.0:
                self._recent.popleft()
            if len(self._recent) >= self.per_minute or self._tries >= TRIES_PER_ASK:
                return "too_many"
            item: ShopperInput
            if kind == "phone":
                phone = phone_shape(value) if isinstance(value, str) else None
                if phone is None:
                    return "malformed"
                item = PhoneTyped(session, phone)
            else:
                if not isinstance(value, bool):
                    return "malformed"
                item = TermsAnswered(session, self._version, value)
            self._recent.append(now)
            self._tries += 1
            self._pending = True
        self.on_input(item)
        return "sent"
