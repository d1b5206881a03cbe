"""Where the display's current view lives: one view, replaced as a whole.

``publish`` may be called from any thread and never waits on a browser: it swaps the view and
wakes the server's event loop (one ``call_soon_threadsafe`` per loop). Each browser's stream
then sends the newest view it has not sent; a slow browser skips views, it never queues them.
A view with ``blank_after_s`` is followed by the view given with it (idle) after that long,
unless another view came first. Only the current view is kept: a browser that connects or
reconnects gets it at once, and nothing of an earlier shopper."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

from display.view import ShopperView, blank, encode

Listener = Callable[[ShopperView], None]


class Hub:
    def __init__(self, first: ShopperView | None = None) -> None:
        self._lock = threading.Lock()
        self._view = first or blank()
        self._body = encode(self._view)
        self._version = 1
        self._events: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}
        self._listeners: list[Listener] = []
        self._timer: threading.Timer | None = None
        self.closed = False

    # -- the till's side -----------------------------------------------------------------------
    def publish(self, view: ShopperView, then: ShopperView | None = None) -> int:
        """Show ``view`` now (and ``then`` after its ``blank_after_s``); returns its version."""
        body = encode(view)
        with self._lock:
            self._version += 1
            version = self._version
            self._view, self._body = view, body
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if then is not None and view.blank_after_s > 0:
                timer = threading.Timer(view.blank_after_s, self._after, (version, then))
                timer.daemon = True
                self._timer = timer
                timer.start()
            loops = list(self._events)
            listeners = list(self._listeners)
        for loop in loops:
            try:
                loop.call_soon_threadsafe(self._wake, loop)
            except RuntimeError:  # that loop is closed: its server stopped
                with self._lock:
                    self._events.pop(loop, None)
        for listener in listeners:
            # A broken pole display never stops the till.
            with contextlib.suppress(Exception):
                listener(view)
        return version

    def _after(self, version: int, then: ShopperView) -> None:
        with self._lock:
            if self._version != version:
                return  # something else is showing: leave it
        self.publish(then)

    def listen(self, listener: Listener) -> None:
        """Call ``listener(view)`` (on the publishing thread) for every view from now on."""
        with self._lock:
            self._listeners.append(listener)

    def close(self) -> None:
        """Every stream ends (the server is stopping)."""
        self.closed = True
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            loops = list(self._events)
        for loop in loops:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake, loop)

    # -- the server's side ---------------------------------------------------------------------
    @property
    def view(self) -> ShopperView:
        with self._lock:
            return self._view

    def current(self) -> tuple[int, bytes]:
        with self._lock:
            return self._version, self._body

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            event = self._events.get(loop)
            if event is not None:
                self._events[loop] = asyncio.Event()
        if event is not None:
            event.set()

    async def changed(self, since: int) -> tuple[int, bytes]:
        """The current view once its version is not ``since`` (waits on this loop)."""
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                if self._version != since or self.closed:
                    return self._version, self._body
                event = self._events.get(loop)
                if event is None:
                    event = self._events[loop] = asyncio.Event()
            await event.wait()
