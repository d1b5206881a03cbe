"""What the scripting sub-commands share: opening the till, parsing money and basket lines,
and turning domain results into JSON."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from loyalty.balance import Balance
from loyalty.errors import BadInput
from loyalty.ledger import Entry
from loyalty.money import format_plain, parse_amount
from loyalty.rules import BasketLine, total_only
from loyalty.till import Till
from terminal import config as config_mod
from terminal.config import Config


def load_config(args: argparse.Namespace) -> Config:
    return config_mod.load(getattr(args, "data_dir", None), getattr(args, "config", None))


def open_till(args: argparse.Namespace) -> tuple[Till, Config]:
    cfg = load_config(args)
    return Till.open(cfg.data_dir), cfg


def parse_line(text: str, digits: int) -> BasketLine:
    """'SKU,CATEGORY,AMOUNT' (AMOUNT like 12.50) -> a basket line."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise BadInput("malformed_line", sku=text[:64], category="")
    sku, category, amount = parts
    return BasketLine(sku, category, parse_amount(amount, digits))


def basket(total: str | None, lines: list[str] | None, digits: int) -> tuple[BasketLine, ...]:
    """A basket from --line options, or one 'basket' line for a bare --total; when both are
    given the total must match the lines (a typo must not become a sale)."""
    parsed = tuple(parse_line(line, digits) for line in lines or ())
    if total is None:
        if not parsed:
            raise BadInput("empty_basket")
        return parsed
    amount = parse_amount(total, digits)
    if amount < 0:
        raise BadInput("negative_amount", value=total)
    if not parsed:
        return (total_only(amount),)
    if sum(line.amount_minor for line in parsed) != amount:
        raise BadInput(
            "total_does_not_match_lines",
            total=total,
            lines=format_plain(sum(x.amount_minor for x in parsed), digits),
        )
    return parsed


def when(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def balance_json(b: Balance) -> dict[str, Any]:
    return {
        "member_id": b.member_id,
        "available": b.available,
        "pending": b.pending,
        "pending_release_at": when(b.pending_release_at),
        "unsynced_points": b.unsynced_points,
        "includes_offline": b.includes_offline,
        "as_of": when(b.as_of),
        "tier": b.tier_id,
        "provisional_tier": b.provisional_tier_id,
        "tier_progress": b.tier_progress,
        "next_tier": b.next_tier_id,
        "to_next_tier": b.to_next_tier,
        "tier_deadline": b.tier_deadline.isoformat() if b.tier_deadline else None,
        "expiring_points": b.expiring_points,
        "expiring_at": when(b.expiring_at),
        "status": b.status,
    }


def entry_json(e: Entry) -> dict[str, Any]:
    return {
        "entry_id": e.entry_id,
        "seq": e.seq,
        "kind": e.kind,
        "points": e.points,
        "amount_minor": e.amount_minor,
        "reason": e.reason,
        "reward_id": e.reward_id,
        "reverses": e.reverses,
        "offline": e.offline,
    }
