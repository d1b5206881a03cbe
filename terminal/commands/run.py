"""till run: the till app with the configured data dir, printer, camera and head office."""

from __future__ import annotations

import argparse

from terminal.commands.common import load_config
from terminal.errors import CommandError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="start the till app")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from terminal.app.app import build_app
    from terminal.app.wiring import build_services
    from terminal.auth import cashiers_from

    config = load_config(args)
    if not cashiers_from(config.raw):
        raise CommandError(
            "cli.error.no_cashiers", file=str(config.config_file or config.data_dir / "config.toml")
        )
    from terminal.pos.serve import start_if_configured, tap_the_app

    services = build_services(config)
    keymap = config.raw.get("keys") or {}
    api = start_if_configured(
        services.till, config, services.scanner, services.printer, services.display
    )
    tap_the_app(services, api)
    try:
        build_app(services, config.language, keymap).run()
    finally:
        if api is not None:
            api.stop()
