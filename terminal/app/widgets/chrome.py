"""The parts of every screen: the status line (online, last sync, unsynced entries, printer,
camera, cashier) and the key bar (the screen's bindings with translated labels)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import ProgressBar, Static

if TYPE_CHECKING:
    from terminal.app.host import TillHost


class StatusLine(Vertical):
    """Always visible: is head office reachable, what has not reached it, are the devices up.
    One line of text that wraps on a narrow screen, and a progress bar while a sync runs."""

    def compose(self) -> ComposeResult:
        yield Static(id="status-text")
        yield ProgressBar(total=100, show_eta=False, id="status-progress")

    @property
    def till_app(self) -> TillHost:
        return cast("TillHost", self.app)

    def on_mount(self) -> None:
        for name in (
            "online",
            "unsynced",
            "last_sync",
            "printer_state",
            "camera_state",
            "sync_progress",
            "held_by_headoffice",
            "cashier",
        ):
            self.watch(self.app, name, self._update, init=False)
        self._update()

    def _update(self, *_: object) -> None:
        app = self.till_app
        t = app.t
        online = t("app.status.online") if app.online else t("app.status.offline")
        style = "black on $success" if app.online else "black on $warning"
        tz = app.services.till.program.timezone
        last = t.datetime(app.last_sync, tz) if app.last_sync else t("app.status.never")
        down = app.services.headoffice_down
        parts = [app.no_headoffice()] if down is not None and not app.online else []
        parts += [
            t("app.status.sync", last=last, unsynced=t.number(app.unsynced)),
        ]
        if app.held_by_headoffice:
            parts.append(t("app.status.held", n=t.number(app.held_by_headoffice)))
        parts += [
            t(
                "app.status.devices",
                printer=t(f"app.device.{app.printer_state}"),
                camera=t(f"app.device.{app.camera_state}"),
            ),
            t("app.status.cashier", name=app.cashier.name if app.cashier else "—"),
        ]
        text = Content.from_markup(f"[{style}] {online} [/] ") + Content(" · ".join(parts))
        self.query_one("#status-text", Static).update(text)
        bar = self.query_one("#status-progress", ProgressBar)
        bar.display = app.sync_progress >= 0
        bar.update(progress=max(app.sync_progress, 0))


class KeyBar(Static):
    """The keys this screen answers to, in the till's language (remapped keys included)."""

    def on_mount(self) -> None:
        self.watch(self.app, "language", self._update)
        self.call_after_refresh(self._update)

    def _update(self, *_: object) -> None:
        if not self.is_attached or not self.is_mounted:
            return  # removed by a recompose (language switch) before this ran
        t = cast("TillHost", self.app).t
        parts = []
        seen = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.id or binding.id in seen or not binding.show:
                continue
            seen.add(binding.id)
            key = self.app.get_key_display(binding)
            parts.append(f"[b]{key}[/b]\u00a0{t('key.' + binding.id)}")
        self.update("   ".join(parts))
