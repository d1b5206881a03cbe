"""Head office's change feed: what a till pulls after a cursor (members, keys, the deny-list,
programs), paged, with a full snapshot first and "start over" when the cursor expired."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from loyalty.db import from_text, to_text
from loyalty.program import Program
from sync import protocol as p
from sync.headoffice import phone_keys, referrals
from sync.headoffice.channels import recent_activity
from sync.headoffice.merges import with_merges
from sync.headoffice.offers import definitions, with_offers
from sync.headoffice.once import with_once_paid
from sync.headoffice.review import outcomes
from sync.headoffice.rows import _MEMBER_COLUMNS, ApiProblem, _member_state
from sync.headoffice.store import Tx
from sync.headoffice.tier_days import with_tier_days


class ChangeFeed:
    """Mixed into HeadOffice: the pull side."""

    store: Any
    clock: Callable[[], dt.datetime]

    def program(self, tx: Tx) -> Program | None: ...  # HeadOffice's

    # -- pull ----------------------------------------------------------------------------------
    def changes(
        self, cursor: str | None, limit: int = 2000, terminal_id: str | None = None
    ) -> p.ChangesAnswer:
        limit = max(1, min(limit, p.MAX_PAGE))
        with self.store.transaction() as tx:
            epoch = tx.one("SELECT value FROM settings WHERE key = 'epoch'")
            assert epoch is not None
            stamp = to_text(self.clock())
            if not cursor:
                # The snapshot covers every change so far, including ones already pruned.
                top = tx.one("SELECT COALESCE(MAX(change_id), 0) FROM changes")
                pruned = tx.one("SELECT value FROM settings WHERE key = 'pruned_through'")
                start = max(int(top[0]) if top else 0, int(pruned[0]) if pruned else 0)
                return self._snapshot_page(tx, epoch[0], start, "", limit, stamp, terminal_id)
            phase, start, after = _read_cursor(cursor, epoch[0])
            if phase == "s":
                return self._snapshot_page(tx, epoch[0], start, after, limit, stamp, terminal_id)
            pruned = tx.one("SELECT value FROM settings WHERE key = 'pruned_through'")
            if pruned is not None and start < int(pruned[0]):
                raise ApiProblem(410, "cursor_expired")
            return self._change_page(tx, epoch[0], start, limit, stamp, terminal_id)

    def _snapshot_page(
        self,
        tx: Tx,
        epoch: str,
        start: int,
        after: str,
        limit: int,
        stamp: str,
        terminal_id: str | None = None,
    ) -> p.ChangesAnswer:
        programs: list[str] = []
        keys: list[p.PublicKey] = []
        denied: list[p.DenyEntry] = []
        erased: list[str] = []
        decided: list[p.HeldOutcome] = []
        if not after:
            decided = outcomes(tx, terminal_id, None)  # every decision on the till's held entries
            # A till starting over may still hold members erased since: name them all (ids
            # only, which are pseudonymous) so their personal data leaves every till.
            erased = [r[0] for r in tx.all("SELECT member_id FROM members WHERE erased = 1")]
            program = tx.one(
                "SELECT document FROM programs WHERE version = "
                "(SELECT value FROM settings WHERE key = 'program_version')"
            )
            programs = [program[0]] if program else []
            keys = self._keys(tx, None)
            denied = self._denied(tx, None)
        rows = tx.all(
            f"SELECT {_MEMBER_COLUMNS} FROM members WHERE member_id > ? AND erased = 0 "
            "ORDER BY member_id LIMIT ?",
            (after, limit),
        )
        members = with_once_paid(tx, with_merges(tx, [_member_state(r) for r in rows]))
        members = with_tier_days(tx, self.program(tx), members, from_text(stamp))
        members = with_offers(tx, self.program(tx), members, from_text(stamp))
        members = referrals.with_codes(tx, members)
        if len(rows) == limit:
            cursor = _cursor(epoch, "s", start, rows[-1][0])
        else:
            cursor = _cursor(epoch, "c", start, "")
        return p.ChangesAnswer(
            cursor=cursor, more=True if len(rows) == limit else self._has_changes(tx, start),
            members=members, erased=erased, programs=programs, public_keys=keys, denied=denied,
            server_time=stamp, phone_keys=self._phone_keys(tx), held_decided=decided,
            takes_phone_rehashes=True, offers=definitions(tx, members), takes_purchases=True,
            channel_activity=recent_activity(tx, [m.member_id for m in members]),
        )  # fmt: skip

    def _has_changes(self, tx: Tx, after: int) -> bool:
        return tx.one("SELECT 1 FROM changes WHERE change_id > ? LIMIT 1", (after,)) is not None

    def _change_page(
        self, tx: Tx, epoch: str, start: int, limit: int, stamp: str, terminal_id: str | None
    ) -> p.ChangesAnswer:
        rows = tx.all(
            "SELECT change_id, kind, ref FROM changes WHERE change_id > ? "
            "AND (origin IS NULL OR origin <> ?) ORDER BY change_id LIMIT ?",
            (start, terminal_id or "", limit),
        )
        # A push records the members it touched in one row: a page stops once it holds
        # ``limit`` refs, so it stays near ``limit`` members however big the batches were.
        refs: dict[str, dict[str, None]] = defaultdict(dict)
        end, count, full = start, 0, len(rows) == limit
        if not rows:
            # Only this till's own changes (or none) since the cursor: move past them. Change
            # ids become visible in order (see Store.lock_changes), so none is skipped.
            top = tx.one("SELECT COALESCE(MAX(change_id), 0) FROM changes")
            end = max(start, int(top[0]) if top else 0)
        for change_id, kind, ref in rows:
            items = json.loads(ref) if kind == "members" else [ref]
            for item in items:
                refs["member" if kind == "members" else kind][item] = None
            end, count = int(change_id), count + len(items)
            if count >= limit:
                full = full or int(change_id) != int(rows[-1][0])
                break
        members: list[p.MemberState] = []
        erased: list[str] = []
        for where, params in tx.matching("member_id", list(refs["member"])):
            found = tx.all(
                f"SELECT {_MEMBER_COLUMNS} FROM members WHERE {where} ORDER BY member_id", params
            )
            for r in found:
                (erased.append(r[0]) if r[16] else members.append(_member_state(r)))
        members = with_once_paid(tx, with_merges(tx, members))
        members = with_tier_days(tx, self.program(tx), members, from_text(stamp))
        members = with_offers(tx, self.program(tx), members, from_text(stamp))
        members = referrals.with_codes(tx, members)
        programs = []
        for version in list(refs["program"]):
            doc = tx.one("SELECT document FROM programs WHERE version = ?", (version,))
            if doc is not None:
                programs.append(doc[0])
        return p.ChangesAnswer(
            cursor=_cursor(epoch, "c", end, ""), more=full, members=members,
            erased=erased, programs=programs, public_keys=self._keys(tx, list(refs["key"])),
            denied=self._denied(tx, list(refs["deny"])), server_time=stamp,
            phone_keys=self._phone_keys(tx), takes_phone_rehashes=True,
            held_decided=outcomes(tx, terminal_id, list(refs["held"])),
            offers=definitions(tx, members), takes_purchases=True,
            channel_activity=recent_activity(tx, [m.member_id for m in members]),
        )  # fmt: skip

    def _phone_keys(self, tx: Tx) -> list[p.PhoneKey]:
        return [p.PhoneKey(k, v) for k, v in phone_keys.keys(tx)]

    def rotate_phone_key(self) -> str:
        """A new chain-wide phone key; tills hash with it from their next pull and still find
        members hashed with the older ones, until those retire (sync/headoffice/phone_keys.py).
        Returns the new key's id."""
        with self.store.transaction() as tx:
            return phone_keys.rotate(tx, self.clock())

    def _keys(self, tx: Tx, ids: list[str] | None) -> list[p.PublicKey]:
        if ids is not None and not ids:
            return []
        rows = tx.all("SELECT key_id, public_key, revoked FROM public_keys ORDER BY key_id")
        return [
            p.PublicKey(r[0], base64.b64encode(bytes(r[1])).decode(), bool(r[2]))
            for r in rows
            if ids is None or r[0] in ids
        ]

    def _denied(self, tx: Tx, codes: list[str] | None) -> list[p.DenyEntry]:
        if codes is not None and not codes:
            return []
        if codes is None:
            rows = tx.all("SELECT code, reason, active FROM deny_list ORDER BY code")
        else:
            rows = []
            for where, params in tx.matching("code", codes):
                rows += tx.all(f"SELECT code, reason, active FROM deny_list WHERE {where}", params)
        return [p.DenyEntry(r[0], r[1], bool(r[2])) for r in rows]

    def prune_changes(self, through: int) -> None:
        """Forget changes up to ``through``: a till whose cursor is older must start over."""
        with self.store.transaction() as tx:
            tx.lock_changes()
            tx.run("DELETE FROM changes WHERE change_id <= ?", (through,))
            tx.run(
                "INSERT INTO settings (key, value) VALUES ('pruned_through', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(through),),
            )


def _cursor(epoch: str, phase: str, start: int, after: str) -> str:
    raw = json.dumps([epoch, phase, start, after], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(cursor: str, epoch: str) -> tuple[str, int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        got_epoch, phase, start, after = json.loads(raw)
        # A change id is a 64-bit integer: a bigger one would overflow the database driver.
        if not (isinstance(start, int) and 0 <= start < 2**63 and isinstance(after, str)
                and phase in ("s", "c")):  # fmt: skip
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error):
        raise ApiProblem(400, "malformed_cursor") from None
    if got_epoch != epoch:
        raise ApiProblem(410, "cursor_expired")
    return phase, start, after
