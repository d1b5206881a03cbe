"""The display's web server, served by the till on the shop's network: one page, its own
script, style sheet and fonts (no CDN: it works with the shop offline), the current view as a
server-sent event stream, and the end-of-sale QR code as SVG.

A browser that connects or reconnects gets the current view at once; a keep-alive comment every
``keepalive_s`` lets it notice a dead link. The page sets text, never markup, and the content
security policy forbids any script or style but the till's own.

With a ``Desk`` (display.touch), ``POST /input`` takes what the shopper types or taps, while the
till asks for it and from the paired page only (see display.touch for the design); without
one, every input is refused (404)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from functools import lru_cache
from pathlib import Path

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from display.hub import Hub
from display.touch import STATUS, Desk

INPUT_LIMIT = 1024  # bytes of an input's body: a phone and a session id fit many times over


class InputBody(msgspec.Struct, forbid_unknown_fields=True):
    token: str
    session: str
    kind: str
    value: str | bool


STATIC = Path(__file__).with_name("static")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@lru_cache(maxsize=8)
def qr_svg(url: str) -> bytes:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    data: bytes = image.to_string()
    return data


def build_app(
    hub: Hub, fonts: Path | None = None, keepalive_s: float = 15.0, desk: Desk | None = None
) -> Starlette:
    async def page(_request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=SECURITY_HEADERS)

    async def state(_request: Request) -> Response:
        _version, body = hub.current()
        return Response(body, media_type="application/json", headers=SECURITY_HEADERS)

    async def qr(_request: Request) -> Response:
        end = hub.view.end
        if end is None or not end.qr_url:
            return Response(status_code=404, headers=SECURITY_HEADERS)
        svg = await asyncio.to_thread(qr_svg, end.qr_url)
        return Response(svg, media_type="image/svg+xml", headers=SECURITY_HEADERS)

    async def events(_request: Request) -> Response:
        async def stream() -> AsyncIterator[bytes]:
            version, body = hub.current()
            yield b"retry: 1000\n" + _event(version, body)
            while not hub.closed:
                try:
                    version, body = await asyncio.wait_for(hub.changed(version), keepalive_s)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if hub.closed:
                    return
                yield _event(version, body)

        headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    async def shopper_input(request: Request) -> Response:
        if desk is None:
            return _answer("not_asking", 404)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > INPUT_LIMIT:
                return _answer("malformed", 413)
        try:
            item = msgspec.json.decode(body, type=InputBody)
        except msgspec.ValidationError:
            return _answer("malformed", 400)
        except msgspec.DecodeError:
            return _answer("malformed", 400)
        answer = desk.submit(item.token, item.session, item.kind, item.value)
        return _answer(answer, STATUS[answer])

    routes = [
        Route("/", page),
        Route("/input", shopper_input, methods=["POST"]),
        Route("/state", state),
        Route("/events", events),
        Route("/qr.svg", qr),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    if fonts is not None and fonts.is_dir():
        routes.append(Mount("/fonts", StaticFiles(directory=fonts), name="fonts"))
    return Starlette(routes=routes)


def _answer(answer: str, status: int) -> Response:
    return Response(
        json.dumps({"answer": answer}),
        status_code=status,
        media_type="application/json",
        headers=SECURITY_HEADERS,
    )


def _event(version: int, body: bytes) -> bytes:
    return b"id: %d\ndata: %s\n\n" % (version, body)


class DisplayUnavailable(RuntimeError):
    """The display's server could not start (``reason``: the address is taken, say)."""


class DisplayServer:
    """The display's server on its own thread and event loop, beside the till app."""

    def __init__(
        self,
        hub: Hub,
        host: str = "127.0.0.1",
        port: int = 0,
        fonts: Path | None = None,
        desk: Desk | None = None,
    ) -> None:
        self.hub = hub
        self.desk = desk
        self.host = host
        self.port = port
        self.fonts = fonts
        self._server: object | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def paired_url(self) -> str:
        """The page's address for the touch screen: with the pairing token, the only page
        that may send the shopper's input."""
        return f"{self.url}?pair={self.desk.token}" if self.desk is not None else self.url

    def start(self, timeout: float = 10.0) -> str:
        """Listen (DisplayUnavailable at once when the address cannot be had) and serve on a
        thread of its own; returns the page's URL."""
        import uvicorn

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Inherited by accepted connections (asyncio sets it only for proto=IPPROTO_TCP):
            # without it an event can wait ~40 ms for the browser's delayed ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            raise DisplayUnavailable(f"{self.host}:{self.port}: {exc.strerror or exc}") from None
        sock.setblocking(False)
        self.port = sock.getsockname()[1]

        config = uvicorn.Config(
            build_app(self.hub, self.fonts, desk=self.desk),
            host=self.host,
            port=self.port,
            log_level="critical",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="display", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise DisplayUnavailable(f"{self.host}:{self.port}")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        self.hub.close()
        server = self._server
        if server is not None:
            server.should_exit = True  # type: ignore[attr-defined]
        if self._thread is not None:
            self._thread.join(5)
