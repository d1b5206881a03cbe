"""till api: the till's local API for the shop's POS (and the printer bridge when
``[printer_bridge] enabled``), alone (``till run`` and ``till demo``
start it beside the app when ``[pos_api] enabled = true``). Prints one JSON line once it
listens (its URL and where the POS's token is), then serves until interrupted."""

from __future__ import annotations

import argparse
import json
import sys

from loyalty.till import Till
from terminal.commands.common import load_config
from terminal.shown import shown


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

    side = PosSide(till, config, on_notice=notice, api=True, host=args.host, port=args.port)
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
        till.close()
