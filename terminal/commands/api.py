"""till api: the till's local API for the shop's POS (and the printer bridge when
``[printer_bridge] enabled``), alone (``till run`` and ``till demo``
start it beside the app when ``[pos_api] enabled = true``). Prints one JSON line once it
listens (its URL and where the POS's token is), then serves until interrupted."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from loyalty.till import Till
from terminal.commands.common import load_config
from terminal.config import Config
from terminal.shown import shown

if TYPE_CHECKING:
    from terminal.shopper_feed import ShopperFeed


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("api", help="the till's local API for the shop's POS")
    p.add_argument("--host", help="address to listen on (default: [pos_api] host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: [pos_api] port, 8760; 0: any free)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from terminal.pos.serve import PosSide

    config = load_config(args)
    till = Till.open(config.data_dir)

    def notice(text: str) -> None:
        print(f"till: {shown(text)}", file=sys.stderr, flush=True)

    feed = _shopper_display(till, config)
    side = PosSide(
        till, config, on_notice=notice, api=True, host=args.host, port=args.port, display=feed
    )
    assert side.api is not None
    try:
        print(json.dumps(side.start()), flush=True)
        assert side.api.thread is not None
        while side.api.thread.is_alive():
            side.api.thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        side.stop()
        if feed is not None:
            feed.stop()
        till.close()


def _shopper_display(till: Till, config: Config) -> ShopperFeed | None:
    """The shopper display when ``[shopper_display] enabled``: it shows what the POS did."""
    import datetime as dt

    from display.server import DisplayUnavailable
    from terminal.shopper_feed import ShopperDisplaySettings, start_feed

    settings = ShopperDisplaySettings.from_raw(config.raw, config.language)
    if not settings.enabled:
        return None
    try:
        return start_feed(settings, lambda: till.program, lambda: dt.datetime.now(dt.UTC))
    except DisplayUnavailable as exc:  # the API works without it
        print(f"till: {shown(str(exc))}", file=sys.stderr, flush=True)
        return None
