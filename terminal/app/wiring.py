"""Build the app's services from the configuration: the one place that knows which parts exist."""

from __future__ import annotations

from loyalty.till import Till
from terminal.app.services import Clock, TillServices, system_clock
from terminal.auth import cashiers_from
from terminal.config import Config


def build_services(config: Config, clock: Clock = system_clock) -> TillServices:
    till = Till.open(config.data_dir)
    services = TillServices(
        till=till, config=config, cashiers=cashiers_from(config.raw), clock=clock
    )
    return services
