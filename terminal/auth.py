"""Cashiers and managers signing in with a PIN. PINs live in the config file only as scrypt
hashes (`till cashier` prints one); a manager's PIN authorises overrides."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import threading
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


class PinGuard:
    """Wrong PINs counted per cashier id (as typed, trimmed): after ``limit`` in a row the id is
    locked out for ``lock_for`` on the till's clock (passed in, so a test or faketime moves it).
    A right PIN clears the count. Shared by sign-in, the lock screen and a manager's override;
    thread-safe, since PINs are checked in worker threads."""

    def __init__(self, limit: int = 5, lock_for: dt.timedelta = dt.timedelta(minutes=5)) -> None:
        self.limit = max(1, limit)
        self.lock_for = lock_for
        self._failures: dict[str, int] = {}
        self._until: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    def locked(self, cashier_id: str, now: dt.datetime) -> LockedOut | None:
        key = cashier_id.strip()
        with self._lock:
            until = self._until.get(key)
            if until is None:
                return None
            if now >= until:  # served its time: a fresh count
                del self._until[key]
                self._failures.pop(key, None)
                return None
            return LockedOut(key, until)

    def failed(self, cashier_id: str, now: dt.datetime) -> LockedOut | None:
        """Count a wrong PIN; the lock-out if this one reached the limit."""
        key = cashier_id.strip()
        with self._lock:
            count = self._failures.get(key, 0) + 1
            self._failures[key] = count
            if count < self.limit:
                return None
            until = now + self.lock_for
            self._until[key] = until
            return LockedOut(key, until)

    def succeeded(self, cashier_id: str) -> None:
        with self._lock:
            self._failures.pop(cashier_id.strip(), None)

    def reset(self, cashier_id: str) -> None:
        """A manager cleared this id's lock-out: its wrong PINs are forgotten and it may try
        again at once (and is locked out again after ``limit`` more wrong PINs)."""
        key = cashier_id.strip()
        with self._lock:
            self._until.pop(key, None)
            self._failures.pop(key, None)

    @staticmethod
    def key_for(cashiers: Mapping[str, Cashier], cashier_id: str) -> str:
        """The id wrong PINs count against: the configured id however it was typed ("ANNA"
        is anna), else what was typed, case-folded."""
        known = find_cashier(cashiers, cashier_id)
        return known.cashier_id if known is not None else cashier_id.strip().casefold()

    def sign_in(
        self, cashiers: Mapping[str, Cashier], cashier_id: str, pin: str, now: dt.datetime
    ) -> Cashier | LockedOut | None:
        """`sign_in` behind the lock-out: a locked id is refused without checking the PIN. Wrong
        PINs count against the configured id however it was typed ("ANNA" is anna)."""
        key = self.key_for(cashiers, cashier_id)
        locked = self.locked(key, now)
        if locked is not None:
            return locked
        cashier = sign_in(cashiers, cashier_id, pin)
        if cashier is None:
            return self.failed(key, now)
        self.succeeded(key)
        return cashier
