"""The till feeds the shopper display: its state changes become display views, in the member's
language, on a thread of the feed's own.

The app calls the feed from its UI thread; each call is one put on a queue and returns at once,
so publishing never slows a scan. The feed's thread builds the view (terminal/shopper_views.py)
and hands it to the display's hub (display/hub.py), which wakes the browsers.

Settings, in the config file's ``[shopper_display]`` table (``[display]`` holds the cashier's
screen settings): ``enabled`` (false by default; the demo turns it on), ``address``
(127.0.0.1), ``port`` (8765), ``blank_after_s`` (10: the end of a sale shows this long, then
idle), ``qr_url`` (the app's status page, the same for every member; ``{lang}`` becomes the
member's language; none by default), ``language`` (the idle screen's; the till's language)
``pole`` (a 2x20 customer pole display, ``tcp://host:port``, with ``?codepage=cp852`` for one
fixed to a code page, display/pole.py; none by default), ``touch``
(false by default: the shopper may type their phone number to check in and accept the terms to
enrol on the page, display/touch.py) and ``pairing_token`` (the token in the touch page's
address, ``/?pair=…``; a new one each run when none is set: the cashier's screen shows the
address).

The shopper's input comes back through ``on_shopper`` (set by the app; called on the display
server's thread, so the app posts it as a message); the app decides what the display shows next
(``ask_phone``, ``ask_terms``, ``phone_refused``, then the member or idle as after a scan).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from display.hub import Hub
from display.touch import Desk, ShopperInput
from display.view import ShopperView, blank
from loyalty.balance import Balance
from loyalty.offers import MemberOffer
from loyalty.program import Program
from loyalty.sales import SaleResult
from loyalty.terms import Terms
from terminal import shopper_views as views
from terminal.i18n import normalise_language

if TYPE_CHECKING:  # the server (starlette, uvicorn) loads only when the display is on
    from display.pole import PoleDisplay
    from display.server import DisplayServer

DEFAULT_PORT = 8765


@dataclass(frozen=True, slots=True)
class ShopperDisplaySettings:
    enabled: bool = False
    address: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    blank_after_s: float = 10.0
    qr_url: str = ""
    language: str = "en"
    pole: str = ""  # a 2x20 pole display, tcp://host:port (display/pole.py)
    touch: bool = False  # the shopper may type and tap on the page (display/touch.py)
    pairing_token: str = ""  # the touch page's token; a new one each run when empty

    @classmethod
    def from_raw(cls, raw: dict[str, Any], language: str) -> ShopperDisplaySettings:
        table = raw.get("shopper_display")
        table = table if isinstance(table, dict) else {}
        return cls(
            enabled=bool(table.get("enabled", False)),
            address=str(table.get("address", "127.0.0.1")),
            port=int(table.get("port", DEFAULT_PORT)),
            blank_after_s=max(0.0, float(table.get("blank_after_s", 10.0))),
            qr_url=str(table.get("qr_url", "")),
            language=normalise_language(str(table.get("language", language))),
            pole=str(table.get("pole", "")),
            touch=bool(table.get("touch", False)),
            pairing_token=str(table.get("pairing_token", "")),
        )


class ShopperFeed:
    """What the app tells the shopper display. Every method returns at once."""

    def __init__(
        self,
        hub: Hub,
        program: Callable[[], Program],
        settings: ShopperDisplaySettings,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.hub = hub
        self._program = program
        self.settings = settings
        self._clock = clock
        self._queue: queue.SimpleQueue[tuple[str, Any] | None] = queue.SimpleQueue()
        self._shopper: views.Shopper | None = None
        self._thread = threading.Thread(target=self._run, name="shopper-feed", daemon=True)
        self._thread.start()
        self.server: DisplayServer | None = None
        self.pole: PoleDisplay | None = None
        # The shopper's input (display.touch): to the app, which posts it as a message.
        self.desk: Desk | None = None
        self.on_shopper: Callable[[ShopperInput], None] | None = None
        self._ask: tuple[str, str, Terms | None] | None = None  # kind, language, terms
        self._session = ""

    def shopper_input(self, item: ShopperInput) -> None:
        """From the display's server thread (Desk.on_input): handed to the app at once."""
        hook = self.on_shopper
        if hook is None:
            if self.desk is not None:
                self.desk.stop()
            return
        hook(item)

    # -- from the app's UI thread ----------------------------------------------------------
    def member_identified(
        self,
        display_name: str,
        language: str,
        balance: Balance,
        offers: tuple[MemberOffer, ...] = (),
        referral_code: str = "",
    ) -> None:
        shopper = views.Shopper(language, display_name, balance, offers, referral_code)
        self._queue.put(("member", shopper))

    def basket_previewed(self, result: SaleResult) -> None:
        self._queue.put(("basket", result))

    def sale_committed(self, result: SaleResult) -> None:
        self._queue.put(("done", result))

    def ask_phone(self) -> None:
        """The cashier asks the shopper to type their phone number on the display."""
        self._queue.put(("ask", ("phone", self.settings.language, None)))

    def ask_terms(self, language: str, terms: Terms) -> None:
        """The cashier asks the shopper to accept the program's terms (in ``language``)."""
        self._queue.put(("ask", ("terms", language, terms)))

    def stop_asking(self) -> None:
        """The page takes no more input (what it shows is left as it is)."""
        if self.desk is not None:
            self.desk.stop()

    @property
    def touch(self) -> bool:
        return self.desk is not None

    @property
    def paired_url(self) -> str:
        """The page's address with the pairing token: what the shopper's touch screen opens."""
        return self.server.paired_url if self.server is not None else ""

    def phone_refused(self) -> None:
        """What the shopper typed is no phone number: they may try again."""
        self._queue.put(("retry", None))

    def cleared(self) -> None:
        """The sale was left without a sale: back to idle."""
        self._queue.put(("idle", None))

    def closed(self) -> None:
        """Nobody is signed in, or the till is locked: nothing on the display."""
        self._queue.put(("blank", None))

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(5)
        if self.server is not None:
            self.server.stop()
        if self.pole is not None:
            self.pole.close()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until what was put before has been published (tests, `till display`)."""
        done = threading.Event()
        self._queue.put(("call", done.set))
        done.wait(timeout)

    # -- the feed's own thread -------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            # A failure to build one view shows idle: the display never stops the till.
            try:
                self._handle(*item)
            except Exception:  # noqa: BLE001
                self._shopper = None
                with contextlib.suppress(Exception):
                    self.hub.publish(self.idle())

    def idle(self) -> ShopperView:
        return views.idle(self._program(), self.settings.language)

    def _handle(self, what: str, value: Any) -> None:
        program, now = self._program(), self._clock()
        if what == "call":
            value()
            return
        if what == "retry":
            if self._ask is not None and self.desk is not None and self.desk.asking:
                self.desk.retry()
                self.hub.publish(self._ask_view(program, self._session, retry=True))
            return
        if self.desk is not None:
            self.desk.stop()  # anything else the till shows ends what it asked
        self._ask = None
        if what == "ask":
            if self.desk is None:
                return
            kind, language, terms = value
            self._ask = (kind, language, terms)
            self._session = self.desk.ask(kind, terms.version if terms else "")
            self.hub.publish(self._ask_view(program, self._session))
        elif what == "member":
            self._shopper = value
            self.hub.publish(views.member(program, value, now))
        elif what == "basket" and self._shopper is not None:
            self.hub.publish(views.basket(program, self._shopper, value, now))
        elif what == "done" and self._shopper is not None:
            language = self._shopper.language
            self._shopper = None
            s = self.settings
            done = views.done(program, language, value, s.qr_url, s.blank_after_s)
            self.hub.publish(done, then=self.idle())
        elif what == "idle":
            self._shopper = None
            self.hub.publish(self.idle())
        elif what == "blank":
            self._shopper = None
            self.hub.publish(blank())

    def _ask_view(self, program: Program, session: str, retry: bool = False) -> ShopperView:
        assert self._ask is not None
        kind, language, terms = self._ask
        if kind == "terms" and terms is not None:
            return views.ask_terms(program, language, session, terms)
        return views.ask_phone(program, language, session, retry)


def start_feed(
    settings: ShopperDisplaySettings,
    program: Callable[[], Program],
    clock: Callable[[], dt.datetime],
) -> ShopperFeed:
    """The display's server on ``settings.address:port`` with its feed; DisplayUnavailable
    when the address cannot be had."""
    from display.server import DisplayServer, DisplayUnavailable
    from printer.shaping import FONT_DIR

    hub = Hub(views.idle(program(), settings.language))
    if settings.pole:
        from display.pole import PoleDisplay

        try:
            pole = PoleDisplay(settings.pole)
        except ValueError as exc:  # a mistyped address or code page: said, the till goes on
            raise DisplayUnavailable(str(exc)) from None
        hub.listen(pole.show)
        threading.Thread(target=pole.show, args=(hub.view,), daemon=True).start()
    feed = ShopperFeed(hub, program, settings, clock)
    if settings.touch:
        feed.desk = Desk(feed.shopper_input, token=settings.pairing_token)
    server = DisplayServer(hub, settings.address, settings.port, fonts=FONT_DIR, desk=feed.desk)
    try:
        server.start()
    except Exception:
        feed.stop()
        raise
    feed.server = server
    feed.pole = pole if settings.pole else None
    return feed
