"""What sync needs from the till's database: the outbox to push, acknowledgements to record,
and pages of head office's changes to apply, each in one transaction with its cursor.

The ledger is the outbox: an entry leaves it (``acked_at`` set) only from head office's answer.
Enrolments travel beside the entries (their personal data is not in the append-only ledger, so
head office can erase it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loyalty import channel_activity, ledger, members, offers, rehash
from loyalty.db import from_text, set_meta, to_text
from loyalty.errors import ProgramError
from loyalty.ledger import Entry
from loyalty.members import MemberSnapshot
from loyalty.program import parse_program
from loyalty.till import Till, _aware


@dataclass(frozen=True, slots=True)
class PendingEnrolment:
    member_id: str
    card_number: str
    display_name: str
    language: str
    phone_hash: str | None
    birthday: str | None
    consent_at: str
    consent_version: str
    enrolled_at: str
    terminal_id: str
    cashier_id: str
    referral_code: str | None = None  # the member's own, as the till gave it
    referred_by: str | None = None  # the friend's code they were enrolled with


@dataclass(frozen=True, slots=True)
class ChangePage:
    """One page of head office's changes since a cursor."""

    cursor: str
    members: tuple[MemberSnapshot, ...] = ()
    erased: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()  # program documents, oldest first; the last one is in force
    public_keys: tuple[tuple[str, bytes], ...] = ()
    revoked_keys: tuple[str, ...] = ()
    denied: tuple[tuple[str, str], ...] = ()  # (member id or card number, reason)
    undenied: tuple[str, ...] = ()
    server_time: dt.datetime | None = None
    complete: bool = False  # the last page: the till now holds every change up to server_time
    phone_keys: tuple[tuple[str, str], ...] = ()  # the chain's phone keys, the current one last
    held_decided: tuple[tuple[str, str], ...] = ()  # (entry id, released | rejected)
    takes_phone_rehashes: bool = False  # head office reads re-hashes (loyalty/rehash.py)
    offers: tuple[Mapping[str, Any], ...] = ()  # offers' definitions (loyalty/offers.py)
    takes_purchases: bool = False  # head office reads purchases' categories (offers.purchases)
    channel_activity: tuple[Mapping[str, Any], ...] = ()  # loyalty/channel_activity.py


@dataclass(frozen=True, slots=True)
class PageResult:
    members: int
    erased: int
    program_version: str | None
    program_errors: tuple[ProgramError, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class SyncState:
    outbox: int
    enrolments: int
    last_acked_seq: int
    last_push_at: dt.datetime | None
    last_pull_at: dt.datetime | None
    cursor: str | None
    clock_drift_ms: int | None  # this till's clock minus head office's, at the last exchange
    held: int = 0  # entries head office holds without crediting them, not yet decided


def pending_entries(till: Till, limit: int, after_seq: int = 0) -> list[Entry]:
    with till.db.read() as conn:
        entries = ledger.unacked(conn, till.terminal_id, limit + 1 if after_seq else limit)
    return [e for e in entries if e.seq > after_seq][:limit]


def pending_rows(till: Till, limit: int) -> list[tuple[Any, ...]]:
    """``pending_entries`` as the ledger's plain rows (``ledger.select_rows``): what a push
    encodes, without an ``Entry`` built per row on the way."""
    with till.db.read() as conn:
        return ledger.select_rows(conn, ledger.UNACKED, (till.terminal_id, limit))


def entries_from(till: Till, from_seq: int, limit: int) -> list[Entry]:
    """This till's entries from ``from_seq`` on, acknowledged or not, in seq order: what the
    till resends when head office answers a push with an earlier expected seq than the
    outbox starts at (head office restored from a backup)."""
    return [ledger.entry(r) for r in rows_from(till, from_seq, limit)]


def rows_from(till: Till, from_seq: int, limit: int) -> list[tuple[Any, ...]]:
    """``entries_from`` as the ledger's plain rows."""
    with till.db.read() as conn:
        return ledger.select_rows(
            conn, "WHERE terminal_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
            (till.terminal_id, from_seq, limit),
        )  # fmt: skip


_TAKES_REHASHES = "headoffice_takes_rehashes"


def pending_rehashes(till: Till) -> list[rehash.PhoneRehash]:
    """The re-hashes to push, once head office has said it reads them (one that predates
    them would refuse the whole push: the outbox never waits for a re-hash)."""
    if not till.db.meta(_TAKES_REHASHES):
        return []
    with till.db.read() as conn:
        return rehash.pending(conn)


def pending_enrolments(till: Till) -> list[PendingEnrolment]:
    with till.db.read() as conn:
        rows = conn.execute(
            "SELECT member_id, card_number, display_name, language, phone_hash, birthday, "
            "consent_at, consent_version, enrolled_at, terminal_id, cashier_id, referral_code, "
            "referred_by FROM enrolments WHERE acked_at IS NULL ORDER BY enrolled_at"
        ).fetchall()
    return [PendingEnrolment(*tuple(r)) for r in rows]


def acknowledge(
    till: Till,
    seqs: Iterable[int],
    snapshots: Sequence[MemberSnapshot],
    enrolments: Sequence[str] = (),
    server_time: dt.datetime | None = None,
    now: dt.datetime | None = None,
    held: Sequence[str] = (),
    phone_rehashes: Sequence[str] = (),
) -> int:
    """Record head office's answer to a push, in one transaction: the entries at ``seqs``
    (the ones head office said it holds, each checked against the entry the till sent) leave
    the outbox, the members touched take head office's balances. ``held``: entry ids among
    them that head office holds without crediting them. Returns how many entries were newly
    acknowledged (0 for a replayed answer)."""
    now = _aware(now)
    stamp = to_text(now)
    runs = _runs(sorted(set(seqs)))
    with till.db.write() as conn:
        acked = 0
        for lo, hi in runs:
            cur = conn.execute(
                "UPDATE ledger SET acked_at = ? WHERE terminal_id = ? AND seq BETWEEN ? AND ? "
                "AND acked_at IS NULL",
                (stamp, till.terminal_id, lo, hi),
            )
            acked += cur.rowcount
        for member_id in enrolments:
            conn.execute(
                "UPDATE enrolments SET acked_at = ? WHERE member_id = ? AND acked_at IS NULL",
                (stamp, member_id),
            )
        rehash.acknowledge(conn, phone_rehashes, stamp)
        conn.executemany(
            "INSERT INTO held_by_headoffice (entry_id, held_at) VALUES (?, ?) "
            "ON CONFLICT (entry_id) DO NOTHING",
            [(entry_id, stamp) for entry_id in held],
        )
        members.upsert(conn, snapshots, stamp)
        if runs:
            last = int(till.db.meta("last_acked_seq") or "0")
            set_meta(conn, "last_acked_seq", str(max(last, runs[-1][1])))
        set_meta(conn, "last_push_at", stamp)
        if server_time is not None:
            _drift(conn, now, server_time)
    return acked


def _runs(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted distinct numbers as (first, last) runs of consecutive ones."""
    out: list[tuple[int, int]] = []
    for s in seqs:
        if out and s == out[-1][1] + 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out


def last_entry(till: Till) -> tuple[int, str]:
    """The seq and hash of the till's last ledger entry ((0, genesis) when none)."""
    with till.db.read() as conn:
        row = conn.execute(
            "SELECT seq, hash FROM ledger WHERE terminal_id = ? ORDER BY seq DESC LIMIT 1",
            (till.terminal_id,),
        ).fetchone()
    return (int(row[0]), row[1]) if row else (0, ledger.GENESIS)


def epoch(till: Till) -> int:
    """The till's chain segment at head office (0 until it was restored from a backup)."""
    return int(till.db.meta("epoch") or "0")


def start_epoch(
    till: Till,
    new_epoch: int,
    held: Sequence[str],
    lost: int,
    now: dt.datetime | None = None,
    last_receipt_no: str | None = None,
) -> int:
    """Head office started a new chain segment for this restored till: the entries it said it
    already holds leave the outbox, and the till remembers the segment and the restore (for
    the cashier) in the same transaction; its next receipt numbers come after the highest one
    head office holds from it (``last_receipt_no``). Returns how many entries were
    acknowledged."""
    stamp = to_text(_aware(now))
    with till.db.write() as conn:
        acked = 0
        for i in range(0, len(held), 500):
            chunk = held[i : i + 500]
            acked += conn.execute(
                f"UPDATE ledger SET acked_at = ? WHERE entry_id IN ({', '.join('?' * len(chunk))}) "
                "AND acked_at IS NULL",
                (stamp, *chunk),
            ).rowcount
        prefix, _, number = (last_receipt_no or "").rpartition("-")
        issued = int(till.db.meta("receipts_issued") or "0")
        if prefix == till.terminal_id and number.isdigit() and int(number) > issued:
            set_meta(conn, "receipts_issued", str(int(number)))
        if new_epoch != epoch(till):
            set_meta(conn, "epoch", str(new_epoch))
            set_meta(conn, "restored_at", stamp)
            set_meta(conn, "restored_lost", str(lost))
    return acked


def _drift(conn: object, now: dt.datetime, server_time: dt.datetime) -> None:
    drift_ms = int((now - server_time).total_seconds() * 1000)
    set_meta(conn, "clock_drift_ms", str(drift_ms))  # type: ignore[arg-type]


def apply_page(till: Till, page: ChangePage, now: dt.datetime | None = None) -> PageResult:
    """Apply one page of changes and its cursor in one transaction. A program that does not
    parse is skipped (reported in the result) and the program in force stays."""
    now = _aware(now)
    stamp = to_text(now)
    parsed = []
    errors: list[ProgramError] = []
    for i, doc in enumerate(page.programs):
        try:
            parsed.append(parse_program(doc, f"head office program #{i + 1}"))
        except ProgramError as exc:
            errors.append(exc)
    current = till.program
    parsed = [p for p in parsed if p.currency == current.currency]
    with till.db.write() as conn:
        n = members.upsert(conn, page.members, stamp)
        offers.store(conn, page.offers, stamp)
        channel_activity.store(conn, page.channel_activity, stamp)
        members.erase(conn, page.erased)
        for program in parsed:
            conn.execute(
                "INSERT INTO programs(version, document, received_at) VALUES (?, ?, ?) "
                "ON CONFLICT(version) DO NOTHING",
                (program.version, program.document, stamp),
            )
        if parsed:
            set_meta(conn, "program_version", parsed[-1].version)
        for key_id, key in page.public_keys:
            conn.execute(
                "INSERT INTO public_keys(key_id, public_key) VALUES (?, ?) "
                "ON CONFLICT(key_id) DO UPDATE SET public_key = excluded.public_key",
                (key_id, key),
            )
        for key_id in page.revoked_keys:
            conn.execute("DELETE FROM public_keys WHERE key_id = ?", (key_id,))
        for code, reason in page.denied:
            conn.execute(
                "INSERT INTO deny_list(code, reason) VALUES (?, ?) "
                "ON CONFLICT(code) DO UPDATE SET reason = excluded.reason",
                (code, reason),
            )
        for code in page.undenied:
            conn.execute("DELETE FROM deny_list WHERE code = ?", (code,))
        conn.executemany(
            "UPDATE held_by_headoffice SET decision = ?, decided_at = ? "
            "WHERE entry_id = ? AND decision IS NULL",
            [(decision, stamp, entry_id) for entry_id, decision in page.held_decided],
        )
        if page.phone_keys:
            set_meta(conn, "phone_keys", json.dumps([list(k) for k in page.phone_keys]))
        set_meta(conn, _TAKES_REHASHES, "1" if page.takes_phone_rehashes else "")
        set_meta(conn, offers.TAKES_PURCHASES, "1" if page.takes_purchases else "")
        set_meta(conn, "pull_cursor", page.cursor)
        set_meta(conn, "last_pull_at", stamp)
        if page.server_time is not None:
            _drift(conn, now, page.server_time)
            if page.complete:
                # Every member in the cache is head office's word as of this time: what a
                # member's snapshot age is measured from (see balance.compute).
                set_meta(conn, "synced_through_at", to_text(page.server_time))
    if parsed:
        till.forget_program()
    return PageResult(n, len(page.erased), parsed[-1].version if parsed else None, tuple(errors))


def forget_cursor(till: Till) -> None:
    """Head office said the cursor expired: the next pull starts from a full snapshot."""
    with till.db.write() as conn:
        conn.execute("DELETE FROM meta WHERE key = 'pull_cursor'")


def public_keys(till: Till) -> dict[str, bytes]:
    with till.db.read() as conn:
        return {
            r[0]: bytes(r[1]) for r in conn.execute("SELECT key_id, public_key FROM public_keys")
        }


def deny_list(till: Till) -> frozenset[str]:
    with till.db.read() as conn:
        rows = conn.execute("SELECT code FROM deny_list").fetchall()
        blocked = conn.execute("SELECT member_id FROM members WHERE status = 'blocked'").fetchall()
    return frozenset(r[0] for r in rows) | frozenset(r[0] for r in blocked)


def state(till: Till) -> SyncState:
    meta = till.db.meta
    with till.db.read() as conn:
        outbox = ledger.unacked_count(conn)
        enrol = conn.execute("SELECT COUNT(*) FROM enrolments WHERE acked_at IS NULL").fetchone()
        held = conn.execute(
            "SELECT COUNT(*) FROM held_by_headoffice WHERE decision IS NULL"
        ).fetchone()
    push, pull, drift = meta("last_push_at"), meta("last_pull_at"), meta("clock_drift_ms")
    return SyncState(
        outbox=outbox,
        enrolments=int(enrol[0]),
        last_acked_seq=int(meta("last_acked_seq") or "0"),
        last_push_at=from_text(push) if push else None,
        last_pull_at=from_text(pull) if pull else None,
        cursor=meta("pull_cursor"),
        clock_drift_ms=int(drift) if drift is not None else None,
        held=int(held[0]),
    )
