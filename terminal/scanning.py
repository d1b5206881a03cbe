"""The scanner as the till app's ``TillServices.scanner`` hook: ``app_code(code, now)``.

Build it with ``scanner_for(till, config)`` (the app, `till sale`). An app code is spent only
by the sale it opened (``AppCodeUse.for_sale`` goes in the ``SaleRequest``, and the sale
records it in its own transaction): a scan that ends in Esc, a
refused basket or a closed app leaves the code good for the next scan, another code of the
same member shown earlier stays good too, and a spent code is refused as a replay, also after
the till restarts (spent codes are kept in the till's SQLite, ``spent_app_codes``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loyalty import outbox, till_records
from loyalty.till_records import AppCode
from scanner.codes import (
    DEFAULT_SKEW_S,
    EMPTY_DENY_LIST,
    CodeKind,
    DenyList,
    MemberCode,
    MemoryReplayGuard,
    Reason,
    ScanRefused,
)
from scanner.keys import load_public_keys
from scanner.wedge import verify_typed
from terminal.config import Config

if TYPE_CHECKING:
    from loyalty.db import Database
    from loyalty.till import Till

# Refusals the member cache cannot do better on. A bad check digit or "not a member code" is
# left to the cache instead: a typed phone number or member id is neither a card nor an app code.
_REFUSE = frozenset(Reason) - {Reason.NOT_A_MEMBER_CODE, Reason.BAD_CHECK_DIGIT}


class ScanRefusedError(ValueError):
    """A refused member code; ``str(exc)`` is its reason (``scan.refused.<reason>``)."""

    def __init__(self, refused: ScanRefused) -> None:
        super().__init__(refused.reason.value)
        self.refused = refused


@dataclass(frozen=True, slots=True)
class AppCodeUse:
    """An app code a scan let through: the sale it opens spends it, and no other code."""

    code_id: bytes
    member_id: str
    valid_until: dt.datetime

    def for_sale(self, member_id: str) -> AppCode | None:
        """What a sale for ``member_id`` records as spent in its own transaction; None when
        the code is another member's (it is not that sale's to spend)."""
        return AppCode(self.code_id, self.valid_until) if member_id == self.member_id else None


class _SpentGuard:
    """One scan's replay guard: refuses a code a committed sale spent (in memory, else in the
    till's SQLite), records nothing itself, and remembers the code it let through."""

    def __init__(self, spent: MemoryReplayGuard, db: Database | None) -> None:
        self.spent = spent
        self.db = db
        self.passed: tuple[bytes, dt.datetime] | None = None

    def first_use(self, code_id: bytes, until: dt.datetime, now: dt.datetime) -> bool:
        if self.spent.seen(code_id, now):
            return False
        if self.db is not None:
            with self.db.read() as conn:
                if till_records.app_code_spent(conn, code_id):
                    return False
        self.passed = (code_id, until)
        return True


class TillScanner:
    def __init__(
        self,
        keys: Mapping[str, bytes],
        deny: DenyList = EMPTY_DENY_LIST,
        skew_s: int = DEFAULT_SKEW_S,
        db: Database | None = None,
    ) -> None:
        """``db``: the till's database, where spent codes are kept across restarts (without
        it, this process alone remembers them)."""
        self.keys = dict(keys)
        self.deny = deny
        self.skew_s = skew_s
        self.db = db
        self.replay_guard = MemoryReplayGuard()  # codes spent by a committed sale

    @classmethod
    def from_config(cls, config: Config, db: Database | None = None) -> TillScanner:
        """Keys from ``<data_dir>/keys/*.pub``, the deny-list from ``<data_dir>/denylist.json``.

        ValueError (or OSError) for a key file or deny-list that cannot be read.
        """
        deny = EMPTY_DENY_LIST
        deny_file = Path(config.data_dir) / "denylist.json"
        if deny_file.is_file():
            deny = DenyList.from_mapping(json.loads(deny_file.read_text(encoding="utf-8")))
        skew = int(config.raw.get("scan_skew_s", DEFAULT_SKEW_S))
        return cls(load_public_keys(Path(config.data_dir) / "keys"), deny, skew, db)

    def check(self, code: str, now: dt.datetime) -> MemberCode | ScanRefused:
        """The full result for a scanned or typed code (``scanner.wedge.verify_typed``)."""
        return self._check(code, now)[0]

    def _check(
        self, code: str, now: dt.datetime
    ) -> tuple[MemberCode | ScanRefused, AppCodeUse | None]:
        guard = _SpentGuard(self.replay_guard, self.db)
        result = verify_typed(
            code, self.keys, now, deny=self.deny, skew_s=self.skew_s, replay_guard=guard
        )
        use = None
        if isinstance(result, MemberCode) and result.member_id and guard.passed is not None:
            use = AppCodeUse(guard.passed[0], result.member_id, guard.passed[1])
        return result, use

    def app_code(self, code: str, now: dt.datetime) -> AppCodeUse | None:
        """The app code and the member it names; None when the member cache should look the
        code up itself (a card number, member id or phone number). Raises ScanRefusedError
        for a forged, expired, replayed, revoked or garbled member code."""
        result, use = self._check(code, now)
        if isinstance(result, ScanRefused):
            if result.reason in _REFUSE:
                raise ScanRefusedError(result)
            return None
        return use if result.kind is CodeKind.APP else None

    def spend(self, use: AppCodeUse, receipt_no: str, now: dt.datetime) -> None:
        """The sale ``receipt_no`` committed with this code (and recorded it in the till's
        SQLite, ``SaleRequest.app_code``): this process refuses it from memory too. Other codes
        shown for the same member stay good."""
        self.replay_guard.first_use(use.code_id, use.valid_until, now)

    def close(self) -> None:
        """Nothing to release (the camera reader is started and stopped by the app)."""


def scanner_for(till: Till, config: Config) -> TillScanner:
    """The till's scanner: the keys and deny-list head office sent (kept in the till's file by
    sync) plus any key files under ``<data_dir>/keys``; spent codes are read from the till."""
    keys = (
        dict(load_public_keys(config.data_dir / "keys"))
        if (config.data_dir / "keys").is_dir()
        else {}
    )
    keys.update(outbox.public_keys(till))
    file_scanner = TillScanner.from_config(config) if (config.data_dir / "keys").is_dir() else None
    denied = outbox.deny_list(till)
    deny = DenyList(revoked_cards=denied, blocked_members=denied)
    if file_scanner is not None:
        deny = DenyList(
            revoked_cards=deny.revoked_cards | file_scanner.deny.revoked_cards,
            blocked_members=deny.blocked_members | file_scanner.deny.blocked_members,
        )
    skew = int(config.raw.get("scan_skew_s", 120))
    return TillScanner(keys, deny, skew, db=till.db)  # spent codes kept in the till
