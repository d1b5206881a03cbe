"""Wrong PINs counted in the till's database (``pin_failures``), so that every process of the
till counts toward one lock-out: the app's sign-in, lock screen and overrides, and
`till sale --override-manager` run again and again or many at once (settings ``pin_attempts``
and ``pin_lockout_minutes``). A restart of the app does not clear a lock-out; a manager's reset
(recorded in ``lockout_resets``) does, for every process.

After ``limit`` wrong PINs in a row for an id, the id is refused without any PIN being checked
until ``lock_for`` has passed on the till's clock. Each attempt is counted *before* its PIN is
checked, in its own write transaction: processes started at once cannot check more than
``limit`` PINs between them. A right PIN clears the count."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from loyalty.db import Database, from_text, to_text
from terminal.auth import Cashier, LockedOut, find_cashier, sign_in

MAX_KEY = 64


def shared_guard(db: Database, settings: Mapping[str, Any]) -> SharedPinGuard:
    """The guard with the config's ``pin_attempts`` and ``pin_lockout_minutes`` (5 and 5)."""
    try:
        attempts = int(settings.get("pin_attempts", 5))
        minutes = float(settings.get("pin_lockout_minutes", 5))
    except (TypeError, ValueError):
        attempts, minutes = 5, 5.0
    return SharedPinGuard(db, attempts, dt.timedelta(minutes=max(0.0, minutes)))


class SharedPinGuard:
    def __init__(
        self, db: Database, limit: int = 5, lock_for: dt.timedelta = dt.timedelta(minutes=5)
    ) -> None:
        self.db = db
        self.limit = max(1, limit)
        self.lock_for = lock_for

    @staticmethod
    def key_for(cashiers: Mapping[str, Cashier], cashier_id: str) -> str:
        """The id wrong PINs count against: the configured id however it was typed ("ANNA"
        is anna), else what was typed, case-folded."""
        known = find_cashier(cashiers, cashier_id)
        return (known.cashier_id if known is not None else cashier_id.strip().casefold())[:MAX_KEY]

    def sign_in(
        self, cashiers: Mapping[str, Cashier], cashier_id: str, pin: str, now: dt.datetime
    ) -> Cashier | LockedOut | None:
        """`sign_in` behind the shared lock-out: the cashier, None for a wrong id or PIN, or
        the lock-out (reached now, or already running: then no PIN was checked)."""
        key = self.key_for(cashiers, cashier_id)
        return self.check(key, now, lambda: sign_in(cashiers, cashier_id, pin))

    def check(
        self, key: str, now: dt.datetime, verify: Callable[[], Cashier | None]
    ) -> Cashier | LockedOut | None:
        """One attempt against ``key``'s count: ``verify()`` (which checks the PIN) runs only
        when ``key`` is not locked out; None from it is a wrong PIN, a cashier clears the count."""
        locked = self._attempt(key, now)
        if locked is not None:
            return locked
        cashier = verify()
        if cashier is None:
            return self._failed(key, now)
        with self.db.write() as conn:
            self.clear(conn, key)
        return cashier

    def locked(self, key: str, now: dt.datetime) -> LockedOut | None:
        """Is ``key`` locked out now (no attempt is counted)?"""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT locked_until FROM pin_failures WHERE cashier_id = ?", (key,)
            ).fetchone()
        until = from_text(row[0]) if row and row[0] else None
        return LockedOut(key, until) if until is not None and now < until else None

    @staticmethod
    def clear(conn: sqlite3.Connection, key: str) -> None:
        """Forget ``key``'s wrong PINs and lock-out (a right PIN, or a manager's reset written
        in the same transaction): it may try again at once, and is locked out again after
        ``limit`` more wrong PINs."""
        conn.execute(
            "UPDATE pin_failures SET failures = 0, locked_until = NULL WHERE cashier_id = ?",
            (key,),
        )

    def _attempt(self, key: str, now: dt.datetime) -> LockedOut | None:
        """Count an attempt before its PIN is checked; the lock-out if none may be made."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT failures, locked_until FROM pin_failures WHERE cashier_id = ?", (key,)
            ).fetchone()
            failures = int(row[0]) if row else 0
            until = from_text(row[1]) if row and row[1] else None
            if until is not None and now < until:
                return LockedOut(key, until)
            if until is not None:  # served its time: a fresh count
                failures = 0
            if failures >= self.limit:  # the last attempts allowed are still being checked
                until = now + self.lock_for
                self._save(conn, key, failures, until)
                return LockedOut(key, until)
            self._save(conn, key, failures + 1, None)
        return None

    def _failed(self, key: str, now: dt.datetime) -> LockedOut | None:
        """A wrong PIN (already counted): the lock-out if the count reached the limit."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT failures, locked_until FROM pin_failures WHERE cashier_id = ?", (key,)
            ).fetchone()
            if row is None or int(row[0]) < self.limit:
                return None
            if row[1] and now < (until := from_text(row[1])):
                return LockedOut(key, until)
            until = now + self.lock_for
            self._save(conn, key, int(row[0]), until)
        return LockedOut(key, until)

    @staticmethod
    def _save(conn: sqlite3.Connection, key: str, failures: int, until: dt.datetime | None) -> None:
        conn.execute(
            "INSERT INTO pin_failures (cashier_id, failures, locked_until) VALUES (?, ?, ?) "
            "ON CONFLICT (cashier_id) DO UPDATE SET failures = excluded.failures, "
            "locked_until = excluded.locked_until",
            (key, failures, to_text(until) if until else None),
        )
