"""Run the till API on a real socket with uvicorn: in the foreground (``till api``) or in a
background thread beside the till app (``till run``, ``till demo``) and in tests.

Settings, in the till's config file::

    [pos_api]
    enabled = true          # till run / till demo start it
    host = "127.0.0.1"      # the shop's network address to let a POS on another machine in
    port = 8760
    header_timeout_s = 10   # a request's headers must be in this long after it began
    body_timeout_s = 10     # and its body (256 KiB at most) this long after the headers
    write_timeout_s = 30    # a POS that does not read its answer is cut off after this
    tls_cert = ""           # PEM files: serve HTTPS instead of HTTP (see docs/pos.md)
    tls_key = ""
    allow_origins = []      # web origins whose pages may call it from a browser (Odoo's POS)

and the printer bridge's (``[printer_bridge]``, see terminal/pos/bridge.py).
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any, cast

import uvicorn

from loyalty.till import Till
from sync.slowclients import guarded_h11
from terminal.config import Config
from terminal.errors import CommandError
from terminal.pos.app import create_app
from terminal.pos.bridge import BridgeSettings, Notice, PrinterBridge
from terminal.pos.presence import PresenceTap
from terminal.pos.service import PosService, ShopperEvents
from terminal.pos.token import TokenFile, token_path
from terminal.printing import ReceiptPrinter
from terminal.scanning import TillScanner

DEFAULT_PORT = 8760


@dataclass(frozen=True, slots=True)
class ApiSettings:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    # Slow or idle clients are cut off (sync/slowclients.py): a POS's request is small.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    write_timeout_s: float = 30.0
    tls_cert: str = ""
    tls_key: str = ""
    allow_origins: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Config) -> ApiSettings:
        raw: Any = config.raw.get("pos_api") or {}
        if not isinstance(raw, dict):
            raw = {}
        d = cls()
        return cls(
            bool(raw.get("enabled", False)), str(raw.get("host", d.host)),
            int(raw.get("port", DEFAULT_PORT)),
            float(raw.get("header_timeout_s", d.header_timeout_s)),
            float(raw.get("body_timeout_s", d.body_timeout_s)),
            float(raw.get("write_timeout_s", d.write_timeout_s)),
            str(raw.get("tls_cert", "")), str(raw.get("tls_key", "")),
            _origins(raw.get("allow_origins")),
        )  # fmt: skip


def _origins(value: Any) -> tuple[str, ...]:
    """The origins a browser POS may call from: a list (or one string); never "*" (a page of
    any site could then drive the till with a token it obtained)."""
    values = [value] if isinstance(value, str) else list(value or ())
    return tuple(str(x).rstrip("/") for x in values if str(x).strip() not in ("", "*"))


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it. asyncio sets it only on sockets made with
    # proto=IPPROTO_TCP, which these are not: without it every answer waited ~40 ms for the
    # POS's delayed ACK (headers and body are two writes) - bench/api.py shows the difference.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


class ApiServer:
    """The till API in a thread: ``with ApiServer(till, config, port=0) as url:``."""

    def __init__(
        self,
        till: Till,
        config: Config,
        host: str | None = None,
        port: int | None = None,
        scanner: TillScanner | None = None,
        display: ShopperEvents | None = None,
    ) -> None:
        """``scanner``: the app's own (so an app code spent at the POS is spent on screen too);
        ``display``: the shopper display the POS's members and sales are shown on."""
        settings = self.settings = ApiSettings.from_config(config)
        self.host = host or settings.host
        self.port = settings.port if port is None else port
        self.service = PosService(till, config, scanner, display=display)
        self.app = create_app(self.service, TokenFile(config.data_dir), settings.allow_origins)
        self.sock: socket.socket | None = None
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self.sock is not None
        host, port = self.sock.getsockname()[:2]
        scheme = "https" if self.settings.tls_cert else "http"
        return f"{scheme}://{host}:{port}" if ":" not in host else f"{scheme}://[{host}]:{port}"

    def start(self) -> str:
        s = self.settings
        tls: dict[str, Any] = {}
        if s.tls_cert:
            tls = {"ssl_certfile": s.tls_cert, "ssl_keyfile": s.tls_key or None}
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off",
            timeout_keep_alive=30,
            http=guarded_h11(s.header_timeout_s, s.body_timeout_s, s.write_timeout_s), **tls,
        )  # fmt: skip
        try:
            config.load()  # here, so a certificate that cannot be used is said, not a dead thread
        except (OSError, ssl.SSLError) as exc:
            raise CommandError("pos.tls_unusable", file=s.tls_cert, detail=str(exc)[:200]) from exc
        self.sock = bind(self.host, self.port)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True, name="pos-api"
        )
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            threading.Event().wait(0.01)
        return self.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=5)
        if self.sock is not None:
            self.sock.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PosSide:
    """What sits beside the shop's POS, as configured: the till API (``[pos_api]``) and the
    receipt-printer bridge (``[printer_bridge]``), sharing one service (so a member the POS
    identified through the API is the one the next printed receipt is for)."""

    def __init__(
        self,
        till: Till,
        config: Config,
        scanner: object = None,
        printer: object = None,
        on_notice: Notice | None = None,
        api: bool | None = None,
        host: str | None = None,
        port: int | None = None,
        display: object = None,
    ) -> None:
        """``api``: start the API whatever the config says (``till api``); ``host``, ``port``:
        the API's, instead of the config's; ``display``: the app's shopper display hook."""
        self.config = config
        shared = scanner if isinstance(scanner, TillScanner) else None
        events = cast(ShopperEvents, display) if display is not None else None
        self.api: ApiServer | None = None
        if api if api is not None else ApiSettings.from_config(config).enabled:
            self.api = ApiServer(till, config, host, port, scanner=shared, display=events)
        self.bridge: PrinterBridge | None = None
        settings = BridgeSettings.from_raw(config.raw.get("printer_bridge"))
        self._own_printer: ReceiptPrinter | None = None
        if settings.enabled:
            service = (
                self.api.service if self.api else PosService(till, config, shared, display=events)
            )
            if not isinstance(printer, ReceiptPrinter):
                printer = self._own_printer = ReceiptPrinter(till, config)
            service.presence.by_address = settings.lanes == "by_address"
            service.presence.window_s = settings.member_window_s
            self.bridge = PrinterBridge(service, printer, settings, on_notice)

    @property
    def service(self) -> PosService | None:
        """The one service the API and the bridge share (None when neither is on)."""
        if self.api is not None:
            return self.api.service
        return self.bridge.service if self.bridge is not None else None

    def start(self) -> dict[str, str]:
        """Start what is configured; where each listens."""
        out: dict[str, str] = {}
        if self.api is not None:
            out["url"] = self.api.start()
            out["token_file"] = str(token_path(self.config.data_dir))
        if self.bridge is not None:
            host, port = self.bridge.start()
            out["printer_bridge"] = f"{host}:{port}"
        return out

    def stop(self) -> None:
        if self.bridge is not None:
            self.bridge.stop()
        if self.api is not None:
            self.api.stop()
        if self._own_printer is not None:
            self._own_printer.close()


def start_if_configured(
    till: Till,
    config: Config,
    scanner: object = None,
    printer: object = None,
    display: object = None,
) -> PosSide | None:
    """For ``till run`` and ``till demo``: the till API and the printer bridge in threads, as
    configured (sharing the app's scanner, printer and shopper display); None when neither
    is."""
    side = PosSide(till, config, scanner, printer, display=display)
    if side.api is None and side.bridge is None:
        return None
    side.start()
    return side


def tap_the_app(services: Any, side: PosSide | None) -> None:
    """The cashier's app hears what the POS did (``services.pos_did``: a member identified, a
    sale or refund recorded, a receipt printed without loyalty), and a sale the POS names no
    cashier for is the signed-in cashier's (``services.cashier_on_duty``). With the printer
    bridge on, a member the cashier identifies on the till's own screen is the one the POS's
    next receipt is for: the app's display hook notes them (``PresenceTap``), and still feeds
    the shopper display when there is one."""
    if side is None or side.service is None:
        return
    side.service.listeners.append(services.pos_did)
    side.service.on_duty = lambda: services.cashier_on_duty
    if side.bridge is None:
        return
    services.display = PresenceTap(
        services.display, side.bridge.service.presence, lambda: dt.datetime.now(dt.UTC)
    )
