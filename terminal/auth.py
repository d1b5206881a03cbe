"""Cashiers and managers signing in with a PIN. PINs live in the config file only as scrypt
hashes (`till cashier` prints one); a manager's PIN authorises overrides."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_N, _R, _P = 2**14, 8, 1


@dataclass(frozen=True, slots=True)
class Cashier:
    cashier_id: str
    name: str
    manager: bool
    pin_hash: str


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_pin(pin: str, pin_hash: str) -> bool:
    try:
        scheme, salt, digest = pin_hash.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            pin.encode(), salt=base64.b64decode(salt), n=_N, r=_R, p=_P, dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def cashiers_from(config: Mapping[str, Any]) -> dict[str, Cashier]:
    """The ``[cashiers.<id>]`` tables of the config file."""
    out: dict[str, Cashier] = {}
    for cashier_id, table in (config.get("cashiers") or {}).items():
        if isinstance(table, Mapping) and isinstance(table.get("pin_hash"), str):
            out[cashier_id] = Cashier(
                cashier_id,
                str(table.get("name", cashier_id)),
                bool(table.get("manager", False)),
                table["pin_hash"],
            )
    return out


def find_cashier(cashiers: Mapping[str, Cashier], cashier_id: str) -> Cashier | None:
    """The cashier a typed id names, whatever its case ("Anna", "ANNA" and "anna" are anna);
    None for no such id, or for one that only case would tell apart from another."""
    typed = cashier_id.strip()
    if typed in cashiers:
        return cashiers[typed]
    folded = typed.casefold()
    matches = [c for key, c in cashiers.items() if key.casefold() == folded]
    return matches[0] if len(matches) == 1 else None


def sign_in(cashiers: Mapping[str, Cashier], cashier_id: str, pin: str) -> Cashier | None:
    """The cashier, when the id (in any case) and the PIN match; the configured id is the one
    the ledger and receipts carry."""
    cashier = find_cashier(cashiers, cashier_id)
    if cashier is None:
        check_pin(pin, hash_pin("timing"))  # same work for unknown ids: no user enumeration
        return None
    return cashier if check_pin(pin, cashier.pin_hash) else None


@dataclass(frozen=True, slots=True)
class LockedOut:
    """Too many wrong PINs for this cashier id: no PIN is checked until ``until``."""

    cashier_id: str
    until: dt.datetime
