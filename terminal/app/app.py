"""The till app: one factory builds it for `till run`, `till demo` and the tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.filter import LineFilter
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input

from display.touch import ShopperInput
from loyalty.errors import LoyaltyError
from scanner.wedge import BurstDetector, WedgeScan
from terminal.app import messages as m
from terminal.app.bidi import VisualOrder, bidi_mode
from terminal.app.services import TillServices
from terminal.auth import Cashier
from terminal.i18n import LANGUAGES, Translator, translator
from terminal.messages import describe, sync_reason


class TillApp(App[None]):
    CSS_PATH = Path(__file__).with_name("till.tcss")  # absolute: subclasses live elsewhere
    TITLE = "Loyalty till"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("f9", "switch_language", "language", id="app.language"),
        Binding("f5", "sync_now", "sync", id="app.sync"),
        Binding("ctrl+l", "lock", "lock", id="app.lock"),
        Binding("ctrl+q", "quit", "quit", id="app.quit", priority=True),
    ]

    language: reactive[str] = reactive("en")
    cashier: reactive[Cashier | None] = reactive(None)  # who is signed in (the status line)
    online: reactive[bool] = reactive(False)
    unsynced: reactive[int] = reactive(0)
    last_sync: reactive[dt.datetime | None] = reactive(None)  # shown in the current language
    printer_state: reactive[str] = reactive("none")
    camera_state: reactive[str] = reactive("none")
    sync_progress: reactive[int] = reactive(-1)  # percent, -1 when no sync runs
    held_by_headoffice: reactive[int] = reactive(0)  # entries head office holds, not credited

    def __init__(
        self,
        services: TillServices,
        language: str = "en",
        keymap: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.services = services
        self.set_reactive(TillApp.language, translator(language).lang)
        self._keymap = dict(keymap or {})
        raw = services.config.raw
        self.wedge = BurstDetector(
            prefix=str(raw.get("wedge_prefix", "")), suffix=str(raw.get("wedge_suffix", ""))
        )
        self.camera: object | None = None
        self.shopper_camera: object | None = None
        self._entries_to_push = 0
        # Right-to-left text in visual order, unless the terminal reorders it itself.
        self._bidi = bidi_mode(raw)
        self._visual_order = VisualOrder(lambda: self.t.right_to_left)
        self._visual_order.enabled = self._bidi != "terminal"
        # The failure the cashier was last told of (a sync code), until a sync succeeds: the
        # same failure again (a retry, F8 then F5 with head office hung) is not told twice.
        self._told_failure: str | None = None

    @property
    def t(self) -> Translator:
        return translator(self.language)

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then the bidi reordering (terminal/app/bidi.py)."""
        filters = list(super().get_line_filters())
        return [*filters, self._visual_order] if self._visual_order.enabled else filters

    def on_mount(self) -> None:
        from terminal.app.screens.sign_in import SignInScreen

        if self._keymap:
            self.set_keymap(self._keymap)
            unknown = sorted(set(self._keymap) - binding_ids())
            if unknown:  # a mistyped id would otherwise be silently ignored
                self.notify(
                    self.t("app.keys.unknown", ids=", ".join(unknown)),
                    severity="error",
                    timeout=30,
                )
        if self._bidi is None:  # a mistyped setting would otherwise be silently ignored
            value = str(self.services.config.raw.get("display", {}).get("bidi"))[:20]
            self.notify(self.t("app.display.bidi_unknown", value=value), severity="error")
        self.services.listener = self.post_message
        if self.services.display_down is not None:
            self.notify(
                self.t("display.unavailable", detail=self.services.display_down[:120]),
                severity="warning",
                timeout=30,
            )
        self.listen_to_shopper()
        if self.services.sync is not None:
            self.services.sync.start(self.post_message)
        self.printer_state = "ready" if self.services.printer is not None else "none"
        self.camera_state = "none"
        self.refresh_counts()
        self.push_screen(SignInScreen())

    # -- scans from any screen: keyboard-wedge bursts and the camera --------------------------
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            key = "enter" if event.key == "enter" else (event.character or event.key)
            seen = self.wedge.feed(key, event.time)
            if isinstance(seen, WedgeScan) and seen.text:
                # The burst's characters already went to the focused field: take them back,
                # and keep its Enter from submitting that field.
                focused = self.focused
                if isinstance(focused, Input) and focused.value.endswith(seen.text):
                    focused.value = focused.value[: -len(seen.text)]
                event.stop()
                event.prevent_default()
                await self.handle_scan(seen.text, "wedge")
                return
        await super().on_event(event)

    async def handle_scan(self, code: str, source: str) -> None:
        """A member code (or a receipt number) arrived: the screen that wants it gets it,
        else the till goes back to the idle screen and looks the member up."""
        from terminal.app.screens.idle import IdleScreen
        from terminal.app.screens.lock import LockScreen
        from terminal.app.screens.sign_in import SignInScreen

        screen = self.screen
        if self.cashier is None or isinstance(screen, LockScreen | SignInScreen):
            return
        accept = getattr(screen, "accept_scan", None)
        if accept is not None and accept(code):
            return
        while not isinstance(self.screen, IdleScreen) and len(self.screen_stack) > 2:
            await self.pop_screen()
        if isinstance(self.screen, IdleScreen):
            self.screen.post_message(m.MemberScanned(code, source))

    def start_camera(self) -> None:
        """Once a cashier signed in: scans before that would have nobody to serve them."""
        self.start_shopper_camera()
        source = self.services.config.camera
        if not source or self.camera is not None:
            return
        from scanner.camera import CameraReader
        from scanner.decoders import make_decoder

        choice = make_decoder(str(self.services.config.raw.get("decoder", "zxing")))
        target: str | int = int(source) if str(source).isdigit() else str(source)
        reader = CameraReader(target, choice.decoder, self._camera_saw)
        self.camera_state = "unavailable"
        reader.start()
        self.camera = reader

    def start_shopper_camera(self) -> None:
        """The shopper-facing camera (``TILL_SHOPPER_CAMERA``): the shopper scans their own
        code there; it identifies them like the cashier's scan, and the cashier is told."""
        source = self.services.config.shopper_camera
        if not source or self.shopper_camera is not None:
            return
        from scanner.camera import CameraReader
        from scanner.decoders import make_decoder

        choice = make_decoder(str(self.services.config.raw.get("decoder", "zxing")))
        target: str | int = int(source) if str(source).isdigit() else str(source)
        reader = CameraReader(target, choice.decoder, self._shopper_camera_saw)
        reader.start()
        self.shopper_camera = reader

    def _shopper_camera_saw(self, event: object) -> None:
        """From the shopper camera's thread: only codes matter (the cashier's status line is
        about the cashier's own camera)."""
        from scanner.camera import CodeSeen

        if isinstance(event, CodeSeen):
            self.post_message(CameraEvent(event, source="shopper"))

    def _camera_saw(self, event: object) -> None:
        """From the camera reader's thread: post_message is thread-safe."""
        self.post_message(CameraEvent(event))

    async def on_camera_event(self, message: CameraEvent) -> None:
        from scanner.camera import CameraFailed, CameraOpened, CodeSeen

        event = message.event
        if isinstance(event, CodeSeen):
            code = event.payload.decode("utf-8", errors="replace")
            if message.source == "shopper" and self.cashier is not None:
                self.notify(self.t("display.shopper_scanned"))
            await self.handle_scan(code, message.source)
        elif isinstance(event, CameraOpened):
            self.camera_state = "ready"
        elif isinstance(event, CameraFailed):
            self.camera_state = "offline" if event.code == "lost" else "unavailable"

    def watch_cashier(self, cashier: Cashier | None) -> None:
        self.services.cashier_on_duty = cashier.cashier_id if cashier is not None else None

    def refresh_counts(self) -> None:
        """The status line's "unsynced": sales and refunds, not the entries they wrote."""
        self.unsynced = self.services.till.unsynced_sales()

    def describe(self, error: LoyaltyError) -> str:
        return describe(self.t, error, self.services.currency)

    # -- actions every screen has -------------------------------------------------------------
    def action_switch_language(self) -> None:
        i = LANGUAGES.index(self.language)
        self.language = LANGUAGES[(i + 1) % len(LANGUAGES)]

    def watch_language(self, _old: str, _new: str) -> None:
        """Every screen in the stack relabels itself and keeps what was typed and focused."""
        for screen in self.screen_stack:
            relabel = getattr(screen, "relabel", None)
            if relabel is not None:
                self.call_later(relabel)
            else:
                screen.refresh(recompose=True)

    def sale_open(self) -> bool:
        from terminal.app.screens.sale import SaleScreen

        return any(isinstance(s, SaleScreen) and s.view is not None for s in self.screen_stack)

    async def on_sign_out_requested(self, _event: m.SignOutRequested) -> None:
        """Sign out (to switch cashier), from the idle or the lock screen: back to the sign-in
        screen with nothing of the last cashier's left open, never with a sale open."""
        from terminal.app.screens.base import TillDialog
        from terminal.app.screens.sign_in import SignInScreen

        cashier = self.cashier
        if cashier is None or isinstance(self.screen, TillDialog):
            return
        if self.sale_open():
            self.notify(self.t("app.sign_out.sale_open"), severity="warning")
            return
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        self.cashier = None
        if self.services.display is not None:
            self.services.display.closed()
        screen = SignInScreen()
        await self.switch_screen(screen)
        screen.tell_signed_out(cashier.name)

    async def action_quit(self) -> None:
        """Ctrl+Q asks first; with a sale open or the till locked, a manager must approve."""
        from terminal.app.screens.dialogs import ConfirmDialog, OverrideDialog
        from terminal.app.screens.lock import LockScreen

        if isinstance(self.screen, ConfirmDialog | OverrideDialog):
            return  # already asking
        if self.sale_open() or isinstance(self.screen, LockScreen):
            self.notify(self.t("app.quit.needs_manager"), severity="warning")

            def approved(override: object) -> None:
                if override is not None:
                    self.exit()

            self.push_screen(OverrideDialog(), approved)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmDialog(lambda: self.t("app.quit.confirm")), answered)

    def action_lock(self) -> None:
        from terminal.app.screens.lock import LockScreen

        if self.cashier is not None and not isinstance(self.screen, LockScreen):
            if self.services.display is not None:
                self.services.display.closed()  # nothing of the shopper while nobody serves
            self.push_screen(LockScreen())

    def action_sync_now(self) -> None:
        if self.services.sync is None:
            self.notify(self.no_headoffice(), severity="warning")
            return
        self.run_sync()

    def no_headoffice(self) -> str:
        """Why there is no head office to call: none configured, or it could not start."""
        down = self.services.headoffice_down
        if down is None:
            return self.t("app.sync.not_configured")
        return self.t(f"app.headoffice.{down.reason}", detail=down.detail)

    def run_sync(self) -> None:
        if self.services.sync is not None:
            self.services.sync.sync_now()

    # -- navigation: the app alone decides which screen shows ----------------------------------
    def on_cashier_signed_in(self, event: m.CashierSignedIn) -> None:
        from terminal.app.screens.idle import IdleScreen

        self.cashier = event.cashier
        if self.services.display is not None:
            self.services.display.cleared()
        self.switch_screen(IdleScreen())
        self.start_camera()
        printer = self.services.printer
        uncertain = list(printer.uncertain) if printer is not None else []
        if uncertain:
            from terminal.app.screens.uncertain import UncertainPrintDialog

            self.push_screen(UncertainPrintDialog(uncertain))

    def on_till_unlocked(self, event: m.TillUnlocked) -> None:
        """Back to where the till was locked; a manager who unlocked it is now signed in."""
        from terminal.app.screens.lock import LockScreen

        before = self.cashier
        if isinstance(self.screen, LockScreen):
            self.pop_screen()
        self.show_shopper_again()
        if before is None or event.cashier.cashier_id != before.cashier_id:
            self.cashier = event.cashier
            self.notify(
                self.t(
                    "app.lock.taken_over",
                    name=event.cashier.name,
                    before=before.name if before else "—",
                )
            )

    def on_screen_requested(self, event: m.ScreenRequested) -> None:
        from terminal.app.screens.end_of_day import EndOfDayScreen
        from terminal.app.screens.enrol import EnrolScreen
        from terminal.app.screens.refund import RefundScreen
        from terminal.app.screens.reprint import ReprintScreen

        screens: dict[m.ScreenName, type[Screen[None]]] = {
            "enrol": EnrolScreen,
            "refund": RefundScreen,
            "reprint": ReprintScreen,
            "end_of_day": EndOfDayScreen,
        }
        if event.name == "enrol":
            self.push_screen(EnrolScreen(phone=event.phone))
        else:
            self.push_screen(screens[event.name]())

    def on_member_identified(self, event: m.MemberIdentified) -> None:
        """A member was found (scanned at idle, or just enrolled): the sale screen, built once
        and refilled per member."""
        from terminal.app.screens.enrol import EnrolScreen
        from terminal.app.screens.sale import SaleScreen

        if self.services.display is not None:
            # First: the feed's thread builds the shopper's view while this one lays out the
            # sale screen (told after it, the display waited for the layout: bench/display.py).
            member = event.view.member
            self.services.display.member_identified(
                member.display_name, member.language, event.view.balance, event.view.offers,
                member.referral_code or "",
            )  # fmt: skip
        if not self.is_screen_installed("sale"):
            self.install_screen(SaleScreen(), "sale")
        installed = self.get_screen("sale")
        assert isinstance(installed, SaleScreen)
        sale: SaleScreen = installed
        showing = self.screen
        if isinstance(showing, EnrolScreen):
            self.switch_screen(sale)
        elif showing is not sale:
            self.push_screen(sale)
        sale.load(event.view)

    # -- what the shopper does on a touch display (display/touch.py) ---------------------------
    def listen_to_shopper(self) -> None:
        display = self.services.display
        if display is None or not display.touch:
            return

        def acted(item: ShopperInput) -> None:  # on the display server's thread
            self.post_message(m.ShopperActed(item))

        display.on_shopper = acted
        if not self.services.config.raw.get("shopper_display", {}).get("pairing_token"):
            # A new token this run: the cashier is told the page's address to open.
            self.notify(self.t("app.shopper.paired_url", url=display.paired_url), timeout=60)

    def on_shopper_acted(self, event: m.ShopperActed) -> None:
        """To the screen that asked (idle: a phone; enrol: the terms); a screen that did not
        ask (the cashier moved on, a dialog is open) takes nothing: the page stops asking."""
        handler = getattr(self.screen, "shopper_acted", None)
        if handler is not None:
            handler(event.item)
        elif self.services.display is not None:
            self.services.display.stop_asking()

    # -- the shopper display follows the sale (terminal/shopper_feed.py; never waits) -------
    def show_shopper_again(self) -> None:
        """After the lock: the member of the open sale again, else the idle screen."""
        from terminal.app.screens.sale import SaleScreen

        display = self.services.display
        if display is None:
            return
        sale = next((s for s in self.screen_stack if isinstance(s, SaleScreen)), None)
        if sale is not None and sale.view is not None:
            member = sale.view.member
            view = sale.view
            display.member_identified(
                member.display_name, member.language, view.balance, view.offers,
                member.referral_code or "",
            )  # fmt: skip
        else:
            display.cleared()

    def on_sale_previewed(self, event: m.SalePreviewed) -> None:
        if self.services.display is not None:
            self.services.display.basket_previewed(event.result)

    def on_sale_cancelled(self, _event: m.SaleCancelled) -> None:
        if self.services.display is not None:
            self.services.display.cleared()

    # -- events from workers --------------------------------------------------------------------
    def on_sale_committed(self, event: m.SaleCommitted) -> None:
        """Back to the idle screen, which shows the sale just made."""
        from terminal.app.screens.idle import IdleScreen
        from terminal.app.screens.sale import SaleScreen

        self.refresh_counts()
        if self.services.display is not None:
            self.services.display.sale_committed(event.result)
        if isinstance(self.screen, SaleScreen):
            self.pop_screen()
        if isinstance(self.screen, IdleScreen):
            self.screen.show_last(event.result)

    def on_pos_acted(self, message: m.PosActed) -> None:
        """What the shop's POS did through the till (terminal/app/pos_events.py)."""
        from terminal.app.pos_events import show_pos_event

        show_pos_event(self, message)

    def on_refund_committed(self, event: m.RefundCommitted) -> None:
        self.refresh_counts()

    def on_member_enrolled(self, event: m.MemberEnrolled) -> None:
        self.refresh_counts()

    def on_receipt_printed(self, event: m.ReceiptPrinted) -> None:
        self.printer_state = "ready"

    def on_print_failed(self, event: m.PrintFailed) -> None:
        self.printer_state = event.state
        self.notify(
            self.t(
                "app.print.failed",
                receipt=event.receipt_no,
                state=self.t(f"app.device.{event.state}"),
            ),
            severity="error",
        )

    def on_sync_started(self, event: m.SyncStarted) -> None:
        self.sync_progress = 0
        self._entries_to_push = self.services.till.outbox_size()  # the progress bar's whole

    def on_sync_progressed(self, event: m.SyncProgressed) -> None:
        total = max(1, self._entries_to_push, event.entries_left)
        self.sync_progress = min(100, int(100 * (1 - event.entries_left / total)))

    def on_sync_completed(self, event: m.SyncCompleted) -> None:
        self.online = True
        self.sync_progress = -1
        self.last_sync = self.services.now()
        self._told_failure = None
        self.refresh_counts()
        t = self.t
        if event.restored:  # nothing is lost, but the cashier and the manager must know
            lost = t.number(event.lost)
            self.notify(t("sync.notice.till_restored", lost=lost), severity="warning", timeout=60)
        if event.held > self.held_by_headoffice:  # told when more are held, not at every sync
            self.notify(t("app.sync.held", n=t.number(event.held)), severity="warning", timeout=60)
        self.held_by_headoffice = event.held

    def on_sync_failed(self, event: m.SyncFailed) -> None:
        self.online = False
        self.sync_progress = -1
        self.tell_failure(event.reason, "app.sync.failed", event.asked, event.params)

    def tell_failure(
        self, code: str, key: str, asked: bool, params: Mapping[str, Any] | None = None
    ) -> None:
        """A head-office failure as one toast (``key`` wraps the reason). What the cashier
        asked for (F5, F8) is always answered; a background sync that fails as the cashier was
        just told (a failed F8, then the sync behind it, with head office hung) says nothing
        new, so it is not shown again: the status line already says offline."""
        if not asked and code == self._told_failure:
            return
        self._told_failure = code
        self.notify(self.t(key, reason=self.sync_reason(code, params)), severity="warning")

    def sync_reason(self, code: str, params: Mapping[str, Any] | None = None) -> str:
        """A sync error code as the cashier reads it (never the raw code on its own, nor a
        raw placeholder); inside "Sync failed: …", so the fallback is the reason alone
        (sync.error.other, which `till` commands print on their own, starts with "sync failed"
        itself)."""
        terminal_id = self.services.till.terminal_id
        fallback = "app.sync.unknown_answer"
        return sync_reason(self.t, code, params or {}, terminal_id, fallback)

    def on_device_state_changed(self, event: m.DeviceStateChanged) -> None:
        if event.device == "printer":
            self.printer_state = event.state
        elif event.device == "camera":
            self.camera_state = event.state
        elif event.device == "headoffice":
            self.online = event.state == "online"

    def on_unmount(self) -> None:
        for camera in (self.camera, self.shopper_camera):
            stop = getattr(camera, "stop", None)
            if stop is not None:
                stop()
        self.services.close()


def binding_ids() -> set[str]:
    """Every binding id a [keys] table may remap: the app's and every screen's."""
    from terminal.app.screens.dialogs import ConfirmDialog, OverrideDialog
    from terminal.app.screens.end_of_day import EndOfDayScreen
    from terminal.app.screens.enrol import EnrolScreen
    from terminal.app.screens.idle import IdleScreen
    from terminal.app.screens.lock import LockScreen
    from terminal.app.screens.refund import RefundScreen
    from terminal.app.screens.reprint import ReprintScreen
    from terminal.app.screens.sale import SaleScreen
    from terminal.app.screens.sign_in import SignInScreen
    from terminal.app.screens.uncertain import UncertainPrintDialog

    owners: list[type[object]] = [
        TillApp, IdleScreen, SaleScreen, EnrolScreen, RefundScreen, ReprintScreen,
        EndOfDayScreen, OverrideDialog, ConfirmDialog, UncertainPrintDialog, LockScreen,
        SignInScreen,
    ]  # fmt: skip
    ids = set()
    for owner in owners:
        for binding in getattr(owner, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids


@dataclass
class CameraEvent(Message):
    """What a camera reader thread saw (a code, opened, failed, ended); ``source`` says which
    camera: the cashier's ("camera") or the shopper's ("shopper")."""

    event: object
    source: str = "camera"


def build_app(
    services: TillServices, language: str = "en", keymap: Mapping[str, str] | None = None
) -> TillApp:
    """The one factory for `till run`, `till demo` and the tests."""
    return TillApp(services, language, keymap)
