"""The scanner as the till app's ``TillServices.scanner`` hook: ``member_id_for(code, now)``.

Wire it in ``terminal/app/wiring.py`` with ``services.scanner = TillScanner.from_config(config)``.
It keeps one replay guard for the till's lifetime. An app code is spent only when a sale
commits for its member (``spend``): a scan that ends in Esc, a refused basket or a closed app
leaves the code good for the next scan, and a spent code is refused as a replay.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Mapping
from pathlib import Path

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

# Refusals the member cache cannot do better on. A bad check digit or "not a member code" is
# left to the cache instead: a typed phone number or member id is neither a card nor an app code.
_REFUSE = frozenset(Reason) - {Reason.NOT_A_MEMBER_CODE, Reason.BAD_CHECK_DIGIT}


class ScanRefusedError(ValueError):
    """A refused member code; ``str(exc)`` is its reason (``scan.refused.<reason>``)."""

    def __init__(self, refused: ScanRefused) -> None:
        super().__init__(refused.reason.value)
        self.refused = refused


class _SpentGuard:
    """One scan's replay guard: refuses a code a committed sale spent, records nothing itself,
    and remembers the code it let through so the till can spend it when the sale commits."""

    def __init__(self, spent: MemoryReplayGuard) -> None:
        self.spent = spent
        self.passed: tuple[bytes, dt.datetime] | None = None

    def first_use(self, code_id: bytes, until: dt.datetime, now: dt.datetime) -> bool:
        if self.spent.seen(code_id, now):
            return False
        self.passed = (code_id, until)
        return True


class TillScanner:
    def __init__(
        self,
        keys: Mapping[str, bytes],
        deny: DenyList = EMPTY_DENY_LIST,
        skew_s: int = DEFAULT_SKEW_S,
    ) -> None:
        self.keys = dict(keys)
        self.deny = deny
        self.skew_s = skew_s
        self.replay_guard = MemoryReplayGuard()  # codes spent by a committed sale
        # Codes shown but not yet spent, per member: code id -> when it may be forgotten.
        self._shown: dict[str, dict[bytes, dt.datetime]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> TillScanner:
        """Keys from ``<data_dir>/keys/*.pub``, the deny-list from ``<data_dir>/denylist.json``.

        ValueError (or OSError) for a key file or deny-list that cannot be read.
        """
        deny = EMPTY_DENY_LIST
        deny_file = Path(config.data_dir) / "denylist.json"
        if deny_file.is_file():
            deny = DenyList.from_mapping(json.loads(deny_file.read_text(encoding="utf-8")))
        skew = int(config.raw.get("scan_skew_s", DEFAULT_SKEW_S))
        return cls(load_public_keys(Path(config.data_dir) / "keys"), deny, skew)

    def check(self, code: str, now: dt.datetime) -> MemberCode | ScanRefused:
        """The full result for a scanned or typed code (``scanner.wedge.verify_typed``)."""
        guard = _SpentGuard(self.replay_guard)
        result = verify_typed(
            code, self.keys, now, deny=self.deny, skew_s=self.skew_s, replay_guard=guard
        )
        if isinstance(result, MemberCode) and result.member_id and guard.passed is not None:
            code_id, until = guard.passed
            with self._lock:
                for member in list(self._shown):  # forget codes that expired unspent
                    live = {k: u for k, u in self._shown[member].items() if u > now}
                    if live:
                        self._shown[member] = live
                    else:
                        del self._shown[member]
                self._shown.setdefault(result.member_id, {})[code_id] = until
        return result

    def spend(self, member_id: str, now: dt.datetime) -> None:
        """A sale committed for ``member_id``: the app codes shown for them are used up."""
        with self._lock:
            shown = self._shown.pop(member_id, {})
        for code_id, until in shown.items():
            self.replay_guard.first_use(code_id, until, now)

    def member_id_for(self, code: str, now: dt.datetime) -> str | None:
        """The member a signed app code names; None when the member cache should look the code
        up itself (a card number, member id or phone number). Raises ScanRefusedError for a
        forged, expired, replayed, revoked or garbled member code."""
        result = self.check(code, now)
        if isinstance(result, ScanRefused):
            if result.reason in _REFUSE:
                raise ScanRefusedError(result)
            return None
        if result.kind is CodeKind.APP:
            return result.member_id
        return None

    def close(self) -> None:
        """Nothing to release (the camera reader is started and stopped by the app)."""
