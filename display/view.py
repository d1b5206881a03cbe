"""The view model: everything the shopper's display may show, and nothing else.

Texts arrive translated (``terminal`` translates; this package never does), with the language
and its direction. What the types guarantee, whoever builds them:
- no phone and no full card number: there is no field for either, and every text is cleaned
  when the view is built (display.text: a run of more than eight digits is masked, controls and
  bidi overrides are dropped, the length is bounded);
- one member at most: a view holds the member it is about and no other, and the display keeps
  only the current view (display.hub), so nothing of the last shopper outlives the next one;
- of a member, the first name only (``MemberCard.first_name`` is cut to the first word).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from display.text import NAME_LIMIT, clean, first_name

Screen = Literal["blank", "idle", "member", "basket", "done", "ask"]
Direction = Literal["ltr", "rtl"]
URL_LIMIT = 300
TERMS_LIMIT = 4000


def _clean_texts(obj: Any, limits: dict[str, int] | None = None) -> None:
    """Clean every text field of a frozen dataclass in place (at construction only)."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, str):
            limit = (limits or {}).get(f.name)
            object.__setattr__(obj, f.name, clean(value) if limit is None else clean(value, limit))


@dataclass(frozen=True, slots=True)
class Figure:
    """One labelled figure: ("Available points", "1,250")."""

    label: str
    value: str

    def __post_init__(self) -> None:
        _clean_texts(self)


@dataclass(frozen=True, slots=True)
class RewardRow:
    """A reward of the program: affordable now or not, picked for this basket or not."""

    name: str
    cost: str
    affordable: bool
    picked: bool = False

    def __post_init__(self) -> None:
        _clean_texts(self)


@dataclass(frozen=True, slots=True)
class MemberCard:
    """The member being served: first name only, their tier and their points."""

    first_name: str
    greeting: str  # translated, with the first name in it
    tier: str
    progress: str = ""  # what is still needed for the next tier; empty at the top tier
    progress_percent: int = 100
    figures: tuple[Figure, ...] = ()  # available, pending, expiring soon

    def __post_init__(self) -> None:
        object.__setattr__(self, "first_name", first_name(self.first_name))
        _clean_texts(self, {"first_name": NAME_LIMIT})
        object.__setattr__(self, "progress_percent", max(0, min(100, int(self.progress_percent))))


@dataclass(frozen=True, slots=True)
class BasketPart:
    """While the basket is keyed: what it earns, by reason, and the rewards."""

    heading: str
    earns: tuple[Figure, ...]  # one per reason (base, tier bonus, promotions)
    total: Figure
    rewards_heading: str = ""
    rewards: tuple[RewardRow, ...] = ()

    def __post_init__(self) -> None:
        _clean_texts(self)


@dataclass(frozen=True, slots=True)
class SaleEnd:
    """The sale is made: earned, redeemed, new balance, and the link to their status."""

    heading: str
    figures: tuple[Figure, ...]
    qr_url: str = ""  # the same for every member (a link into the app), never their id
    qr_caption: str = ""

    def __post_init__(self) -> None:
        _clean_texts(self, {"qr_url": URL_LIMIT})
        if self.qr_url and not self.qr_url.startswith(("https://", "http://")):
            object.__setattr__(self, "qr_url", "")


@dataclass(frozen=True, slots=True)
class AskPart:
    """The till asks the shopper for something on a touch screen (display.touch): their phone
    number to check in, or to accept the program's terms. ``session`` goes back with the
    answer; the texts the page may need are all here, translated."""

    kind: Literal["phone", "terms"]
    session: str
    title: str
    hint: str = ""
    terms: str = ""  # the terms' text, for kind "terms"
    version: str = ""  # the terms' version, as the page shows it
    ok: str = ""  # OK, or "I accept"
    cancel: str = ""  # clear, or "No, thank you"
    status: str = ""  # what the till says now (a phone that is no phone, say)
    sent: str = ""  # shown once the answer is handed to the till
    malformed: str = ""  # a phone that cannot be one by its shape
    too_many: str = ""  # too many tries: ask the cashier

    def __post_init__(self) -> None:
        _clean_texts(self, {"terms": TERMS_LIMIT, "session": 32, "version": 64})
        if self.kind not in ("phone", "terms"):
            object.__setattr__(self, "kind", "phone")


@dataclass(frozen=True, slots=True)
class ShopperView:
    """One screenful for the shopper."""

    screen: Screen
    lang: str
    direction: Direction
    program: str  # the program's name
    headline: str = ""  # idle: "Scan your code here"
    member: MemberCard | None = None
    basket: BasketPart | None = None
    end: SaleEnd | None = None
    blank_after_s: float = 0.0  # on a done screen: back to idle after this long
    ask: AskPart | None = None  # the till asks the shopper for input (display.touch)

    def __post_init__(self) -> None:
        _clean_texts(self, {"lang": 8})
        if self.direction not in ("ltr", "rtl"):
            object.__setattr__(self, "direction", "ltr")


def blank() -> ShopperView:
    """Nothing at all (the till is closed or locked)."""
    return ShopperView(screen="blank", lang="en", direction="ltr", program="")


_encoder = msgspec.json.Encoder()


def encode(view: ShopperView) -> bytes:
    """The view as JSON (what the page and a pole display receive)."""
    return _encoder.encode(view)


def decode(data: bytes) -> ShopperView:
    """A view from JSON (its texts are cleaned again on the way in)."""
    return msgspec.json.decode(data, type=ShopperView)
