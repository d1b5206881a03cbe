"""Build the app's services from the configuration: the one place that knows which parts exist.

The printer hook queues receipts in the till's own file and prints them from one worker; the
scanner hook checks app codes with the keys and deny-list head office sent (kept in the till's
file by sync) plus any key files under ``<data_dir>/keys``.
"""

from __future__ import annotations

from loyalty.till import Till
from terminal.app.services import Clock, TillServices, system_clock
from terminal.auth import cashiers_from
from terminal.config import Config
from terminal.printing import ReceiptPrinter
from terminal.scanning import scanner_for
from terminal.shopper_feed import ShopperDisplaySettings
from terminal.syncing import HeadOfficeLink


def build_services(
    config: Config, clock: Clock = system_clock, with_printer: bool = True
) -> TillServices:
    till = Till.open(config.data_dir)
    services = TillServices(
        till=till, config=config, cashiers=cashiers_from(config.raw), clock=clock
    )
    services.scanner = scanner_for(till, config)
    if with_printer and config.printer:
        services.printer = ReceiptPrinter(till, config, on_event=services.printed, clock=clock)
    services.sync = HeadOfficeLink.from_config(till, config)
    start_shopper_display(services)
    return services


def start_shopper_display(services: TillServices) -> None:
    """The shopper display, when ``[shopper_display] enabled``; a display that cannot start
    (its port taken) leaves the till working and says why (``display_down``)."""
    config = services.config
    settings = ShopperDisplaySettings.from_raw(config.raw, config.language)
    if not settings.enabled:
        return
    from display.server import DisplayUnavailable
    from terminal.shopper_feed import start_feed

    till = services.till
    try:
        services.display = start_feed(settings, lambda: till.program, services.now)
    except DisplayUnavailable as exc:
        services.display_down = str(exc)
