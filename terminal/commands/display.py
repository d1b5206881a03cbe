"""till display: the shopper display on its own (for testing a screen or a tablet): the page
served from this till's data dir's program, and with ``--demo`` a feed that plays a scan, a
basket and a sale for each cached member in turn (nothing is written)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import threading

from terminal.commands.common import open_till
from terminal.errors import CommandError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("display", help="serve the shopper display on its own")
    p.add_argument("--port", type=int, default=None, help="port (default: config, else 8765)")
    p.add_argument("--address", default=None, help="address (default: config, else 127.0.0.1)")
    p.add_argument("--demo", action="store_true", help="play sample scans and sales on it")
    p.add_argument("--step", type=float, default=3.0, help="seconds per demo step")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from display.server import DisplayUnavailable
    from terminal.app.services import system_clock
    from terminal.shopper_feed import ShopperDisplaySettings, start_feed

    till, config = open_till(args)
    settings = ShopperDisplaySettings.from_raw(config.raw, config.language)
    settings = dataclasses.replace(
        settings,
        enabled=True,
        port=settings.port if args.port is None else args.port,
        address=args.address or settings.address,
        blank_after_s=min(settings.blank_after_s, args.step)
        if args.demo
        else settings.blank_after_s,
    )
    try:
        feed = start_feed(settings, lambda: till.program, system_clock)
    except DisplayUnavailable as exc:
        till.close()
        raise CommandError("display.unavailable", exit_code=1, detail=str(exc)) from None
    assert feed.server is not None
    print(f"till display: {feed.server.url}", file=sys.stderr, flush=True)
    stop = threading.Event()
    try:
        if args.demo:
            play(feed, till, args.step, stop)
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        feed.stop()
        till.close()


def play(feed: object, till: object, step: float, stop: threading.Event) -> None:
    """Each cached member in turn: scanned, a basket of 25.00 keyed, the sale made."""
    from loyalty import sales
    from loyalty.rules import BasketLine
    from loyalty.sales import SaleRequest
    from terminal.shopper_feed import ShopperFeed

    assert isinstance(feed, ShopperFeed)
    from loyalty.till import Till

    assert isinstance(till, Till)
    with till.db.read() as conn:
        ids = [
            str(row[0])
            for row in conn.execute(
                "SELECT member_id FROM members WHERE status = 'active' AND merged_into IS NULL "
                "ORDER BY member_id LIMIT 50"
            )
        ]
    while ids and not stop.is_set():
        for member_id in ids:
            member = till.member(member_id)
            balance = till.balance(member_id)
            feed.member_identified(member.display_name, member.language, balance)
            if stop.wait(step):
                return
            request = SaleRequest(member_id, "demo", (BasketLine("DEMO", "general", 2500),))
            result = sales.preview(till, request)
            feed.basket_previewed(result)
            if stop.wait(step):
                return
            feed.sale_committed(result)  # a preview shown as the sale: nothing is written
            if stop.wait(step * 2):
                return
