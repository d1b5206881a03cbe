"""till api: the till's local API for the shop's POS, alone (``till run`` and ``till demo``
start it beside the app when ``[pos_api] enabled = true``). Prints one JSON line once it
listens (its URL and where the POS's token is), then serves until interrupted."""

from __future__ import annotations

import argparse
import json
import sys

from loyalty.till import Till
from terminal.commands.common import load_config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("api", help="the till's local API for the shop's POS")
    p.add_argument("--host", help="address to listen on (default: [pos_api] host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: [pos_api] port, 8760; 0: any free)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from terminal.pos.serve import ApiServer
    from terminal.pos.token import token_path

    config = load_config(args)
    till = Till.open(config.data_dir)
    server = ApiServer(till, config, host=args.host, port=args.port)
    try:
        url = server.start()
        line = {"url": url, "token_file": str(token_path(config.data_dir))}
        print(json.dumps(line), flush=True)
        assert server.thread is not None
        while server.thread.is_alive():
            server.thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        till.close()
        sys.stdout.flush()
