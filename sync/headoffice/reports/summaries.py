"""The KPI summaries head office keeps beside its ledger, written in the transaction that
stores the entries they sum (a push, head office's own entries from its jobs, reviews and
compensations), so that a report reads a few rows per till and shop day instead of the
ledger. They count exactly what the ledger's definitions count (sql.py, docs/kpis.md);
tests/integration/test_report_summaries.py holds every figure from them to the same figure
read from the raw ledger.

- ``kpi_days`` (till, shop day): the day's sums (points by kind, member spend), its purchases,
  redeeming purchases, offline redemptions and overdrafts, and ``buyers``: the number
  (``members.kpi_no``) of each purchase's member, once a purchase, as little-endian 32-bit
  integers; distinct and repeat buyers over any set of days are counted from these.
- ``kpi_counts`` (till, shop day, figure, key): counts by a key, with points and money:
  ``reward.<kind>`` by reward, ``tier_review`` by head office's review (``old>new`` reason).
- ``kpi_tills``: each till's last push and the oldest entry in it (sync health).

A purchase is a till's receipt with an earning or a redemption on it, once per member and
shop day (``Atom``): entries of one receipt that arrive in two pushes are one purchase, so the
entries head office already holds for the receipts of a push are read first (one index probe
per push). Shop days are the program's time zone's, named in ``settings`` (``kpi_zone``);
publishing a program with another time zone rebuilds them (``ensure``), as does opening a
database made before the summaries existed (``migrate``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from loyalty.program import parse_program
from sync.headoffice.own_entries import HEADOFFICE
from sync.headoffice.reports import engagement
from sync.headoffice.reports.sql import OWN_REASONS
from sync.headoffice.shop_days import shop_day
from sync.headoffice.store import Tx

ZONE_KEY = "kpi_zone"
# What the summaries hold changes now and then (2: engagement by action, 3: members' numbers
# in their own rows, read with the accounts, instead of a table apart; referral bonuses
# counted): a database whose
# summaries are of another version is rebuilt when opened, like one without any.
VERSION = "3"
VERSION_KEY = "kpi_version"
DAY_FIGURES = (
    "points_issued", "points_redeemed", "points_expired", "points_reversed", "points_adjusted",
    "member_spend_minor", "purchases", "redeeming_purchases", "offline_redemptions",
    "overdrafts",
)  # fmt: skip
# What a summary reads of an entry, in this order (``slim`` of a stored row).
COLUMNS = (
    "terminal_id", "seq", "member_id", "kind", "points", "amount_minor", "receipt_no",
    "reward_id", "occurred_at", "offline", "reason", "received_at",
)  # fmt: skip
_STORED = (1, 2, 3, 4, 5, 6, 8, 10, 12, 13, 15, 18)  # COLUMNS' places in an entries row
PURCHASE_KINDS = ("earn", "bonus", "redeem", "donate")
_REDEEMING = ("redeem", "donate")


def _like(pattern: str) -> re.Pattern[str]:
    """SQL's LIKE as a regular expression (``%`` any run, ``_`` any one character)."""
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.S)


_OWN_COUNTED = [_like(r) for r in OWN_REASONS]
_TIER_REVIEW = _like("tier_review:%")
_TAKEN_BACK = _like(engagement.TAKEN_BACK)
ENGAGE = engagement.PREFIX

Atom = tuple[str, str, str, str]  # till, receipt, member, shop day
Flags = list[bool]  # [redeeming, offline redemption]


def slim(row: Sequence[Any]) -> tuple[Any, ...]:
    """An ``entries`` row (the order own_entries and batch insert) cut to ``COLUMNS``."""
    return tuple(row[i] for i in _STORED)


class Fold:
    """The summaries' changes for some entries, before they are written."""

    def __init__(self, zone: str) -> None:
        self.zone = zone
        self.days: dict[tuple[str, str], list[int]] = {}
        self.counts: dict[tuple[str, str, str, str], list[int]] = {}
        self.atoms: dict[Atom, Flags] = {}
        self.tills: dict[str, list[str]] = {}
        self.first_seq: dict[str, int] = {}

    def _day(self, terminal_id: str, day: str) -> list[int]:
        key = (terminal_id, day)
        if key not in self.days:
            self.days[key] = [0] * len(DAY_FIGURES)
        return self.days[key]

    def _count(self, terminal_id: str, day: str, figure: str, key: str) -> list[int]:
        k = (terminal_id, day, figure, key)
        if k not in self.counts:
            self.counts[k] = [0, 0, 0]
        return self.counts[k]

    def day_of(self, occurred_at: str, received_at: str) -> str:
        """The entry's shop day: when it happened, never later than head office got it."""
        return shop_day(occurred_at if occurred_at < received_at else received_at, self.zone)

    def add(self, e: Sequence[Any]) -> None:
        """One entry (``COLUMNS``), in the till's seq order."""
        (terminal_id, seq, member_id, kind, points, amount, receipt_no, reward_id, occurred,
         offline, reason, received) = e  # fmt: skip
        points, amount = int(points), int(amount)
        if terminal_id == HEADOFFICE:
            if not any(p.fullmatch(reason) for p in _OWN_COUNTED):
                return  # a merge's moves: the original entries count
        else:
            self.first_seq.setdefault(terminal_id, int(seq))
            till = self.tills.get(terminal_id)
            if till is None or received > till[0]:
                self.tills[terminal_id] = [received, occurred]
            elif received == till[0] and occurred < till[1]:
                till[1] = occurred
        day = self.day_of(occurred, received)
        f = self._day(terminal_id, day)
        if kind in ("earn", "bonus"):
            f[0] += points
        elif kind in _REDEEMING:
            f[1] -= points
        elif kind == "expire":
            f[2] -= points
        elif kind == "reverse":
            f[3] -= points
        elif kind == "adjust":
            f[4] += points
        if (kind, reason) in (("earn", "base"), ("reverse", "refund:base")):
            f[5] += amount
        if kind in _REDEEMING or (kind == "reverse" and reason == "refund:return_redeemed"):
            key = reward_id if reward_id is not None else (
                "points_payment" if kind == "reverse" else reason)  # fmt: skip
            c = self._count(terminal_id, day, "reward." + kind, key)
            c[0], c[1], c[2] = c[0] + 1, c[1] - points, c[2] + amount
        if terminal_id == HEADOFFICE and kind == "adjust" and _TIER_REVIEW.fullmatch(reason):
            self._count(terminal_id, day, "tier_review", reason)[0] += 1
        if kind == "bonus" and reason[: len(ENGAGE)] == ENGAGE:
            c = self._count(terminal_id, day, engagement.EVENT, reason[len(ENGAGE) :])
            c[0], c[1] = c[0] + 1, c[1] + points
        elif terminal_id == HEADOFFICE and kind == "reverse" and _TAKEN_BACK.fullmatch(reason):
            action = engagement.action_taken_back(reason)
            c = self._count(terminal_id, day, engagement.TAKEN, action)
            c[0], c[1] = c[0] + 1, c[1] - points
        if terminal_id != HEADOFFICE and receipt_no is not None and kind in PURCHASE_KINDS:
            flags = self.atoms.setdefault((terminal_id, receipt_no, member_id, day), [False, False])
            if kind in _REDEEMING:
                flags[0] = True
                flags[1] = flags[1] or int(offline) == 1
            self.first_seq.setdefault(terminal_id, int(seq))

    def overdraft(self, terminal_id: str, occurred_at: str, received_at: str) -> None:
        self._day(terminal_id, self.day_of(occurred_at, received_at))[9] += 1

    def purchases(self, before: Mapping[Atom, Flags]) -> dict[tuple[str, str], list[str]]:
        """Count the purchases (``before``: those head office already held, with their flags)
        into the days; the members of the new ones, by till and day."""
        buyers: dict[tuple[str, str], list[str]] = {}
        for atom, (redeeming, offline) in self.atoms.items():
            f = self._day(atom[0], atom[3])
            old = before.get(atom)
            if old is None:
                f[6] += 1
                f[7] += redeeming
                f[8] += offline
                buyers.setdefault((atom[0], atom[3]), []).append(atom[2])
            else:
                f[7] += redeeming and not old[0]
                f[8] += offline and not old[1]
        return buyers


def zone_of(tx: Tx) -> str | None:
    """The time zone of the summaries' shop days; None if there are none of this version."""
    rows: dict[str, str] = dict(
        tx.all("SELECT key, value FROM settings WHERE key IN (?, ?)", (ZONE_KEY, VERSION_KEY))
    )
    return str(rows[ZONE_KEY]) if ZONE_KEY in rows and rows.get(VERSION_KEY) == VERSION else None


def _held_before(tx: Tx, fold: Fold) -> dict[Atom, Flags]:
    """The purchases head office already holds that this fold's entries add to: entries of
    the same receipts stored before (a seq below the fold's first of that till)."""
    out: dict[Atom, Flags] = {}
    receipts: dict[str, set[str]] = {}
    for terminal_id, receipt_no, _, _ in fold.atoms:
        receipts.setdefault(terminal_id, set()).add(receipt_no)
    for terminal_id, numbers in sorted(receipts.items()):
        for receipt_no, member_id, kind, offline, occurred, received in _earlier(
            tx, terminal_id, fold.first_seq[terminal_id], sorted(numbers)
        ):
            atom = (terminal_id, receipt_no, member_id, fold.day_of(occurred, received))
            if atom in fold.atoms:
                flags = out.setdefault(atom, [False, False])
                if kind in _REDEEMING:
                    flags[0] = True
                    flags[1] = flags[1] or int(offline) == 1
    return out


_EARLIER = (
    "SELECT e.receipt_no, e.member_id, e.kind, e.offline, e.occurred_at, e.received_at FROM "
    "{source} WHERE e.terminal_id = ? AND e.seq < ? AND e.kind IN "
    "('earn', 'bonus', 'redeem', 'donate'){where}"
)


def _earlier(tx: Tx, terminal_id: str, before: int, receipts: Sequence[str]) -> list[Any]:
    """The purchase entries of the till's ``receipts`` stored before seq ``before``: one
    index probe a receipt (``entries_receipt``). PostgreSQL is told so (a lateral subquery
    that cannot be flattened): with a column ``= ANY`` of the push's receipts it planned a
    scan of the till's earlier entries, testing each against every receipt, 0.5 s a push of
    5,000 when its statistics were behind."""
    if tx.dialect == "postgresql":
        sql = _EARLIER.format(
            source="jsonb_array_elements_text(?::jsonb) r(no) CROSS JOIN LATERAL (SELECT * "
            "FROM entries x WHERE x.terminal_id = ? AND x.receipt_no = r.no OFFSET 0) e",
            where="",
        )
        return tx.all(sql, [json.dumps(list(receipts)), terminal_id, terminal_id, before])
    out: list[Any] = []
    for where, params in tx.matching("e.receipt_no", receipts):
        sql = _EARLIER.format(source="entries e", where=f" AND {where}")
        out += tx.all(sql, [terminal_id, before, *params])
    return out


def numbers(tx: Tx, member_ids: Iterable[str]) -> dict[str, int]:
    """Each member's number in the buyers' arrays (``members.kpi_no``: given when the
    member's row is made, never changed)."""
    found: dict[str, int] = {}
    for where, params in tx.matching("member_id", sorted(set(member_ids))):
        found.update(
            (m, int(n))
            for m, n in tx.all(f"SELECT member_id, kpi_no FROM members WHERE {where}", params)
        )
    return found


def _pack(nos: Sequence[int]) -> bytes:
    return np.asarray(nos, dtype="<u4").tobytes()


def _write(tx: Tx, fold: Fold, buyers: Mapping[tuple[str, str], list[str]],
           number: Callable[[Iterable[str]], Mapping[str, int]],
           fresh: bool = False) -> None:  # fmt: skip
    """Add the fold to the summaries; ``fresh``: none of its rows exists yet (a rebuild),
    so they go in with one COPY."""
    nos = number({m for ms in buyers.values() for m in ms}) if buyers else {}
    if fresh:
        tx.insert_new(
            "kpi_days",
            ("terminal_id", "day", *DAY_FIGURES, "buyers"),
            [
                (t, d, *f, _pack([nos[m] for m in buyers.get((t, d), [])]))
                for (t, d), f in sorted(fold.days.items())
            ],
        )
        fold.days = {}
    concat = "kpi_days.buyers || excluded.buyers"
    if tx.dialect == "sqlite":  # || makes text of two blobs
        concat = f"CAST({concat} AS BLOB)"
    sums = ", ".join(f"{c} = kpi_days.{c} + excluded.{c}" for c in DAY_FIGURES)
    sql = (
        f"INSERT INTO kpi_days (terminal_id, day, {', '.join(DAY_FIGURES)}, buyers) VALUES "
        f"(?, ?, {', '.join('?' * len(DAY_FIGURES))}, ?) ON CONFLICT (terminal_id, day) "
        f"DO UPDATE SET {sums}, buyers = {concat}"
    )
    for (terminal_id, day), figures in sorted(fold.days.items()):
        members = buyers.get((terminal_id, day), [])
        tx.run(sql, (terminal_id, day, *figures, _pack([nos[m] for m in members])))
    if fold.counts:
        tx.many(
            "INSERT INTO kpi_counts (terminal_id, day, figure, key, n, points, amount_minor) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (terminal_id, day, figure, key) DO UPDATE "
            "SET n = kpi_counts.n + excluded.n, points = kpi_counts.points + excluded.points, "
            "amount_minor = kpi_counts.amount_minor + excluded.amount_minor",
            [(*k, *v) for k, v in sorted(fold.counts.items())],
        )
    for terminal_id, (received, occurred) in sorted(fold.tills.items()):
        tx.run(
            "INSERT INTO kpi_tills (terminal_id, last_received, oldest_occurred) VALUES (?, ?, ?) "
            "ON CONFLICT (terminal_id) DO UPDATE SET oldest_occurred = CASE "
            "WHEN excluded.last_received > kpi_tills.last_received THEN excluded.oldest_occurred "
            "WHEN excluded.last_received = kpi_tills.last_received AND excluded.oldest_occurred "
            "< kpi_tills.oldest_occurred THEN excluded.oldest_occurred "
            "ELSE kpi_tills.oldest_occurred END, last_received = CASE WHEN "
            "excluded.last_received > kpi_tills.last_received THEN excluded.last_received "
            "ELSE kpi_tills.last_received END",
            (terminal_id, received, occurred),
        )


def stored(
    tx: Tx,
    rows: Sequence[Sequence[Any]],
    overdrafts: Sequence[tuple[str, str, str]] = (),
    known: Mapping[str, int] | None = None,
) -> None:
    """Add entries just stored (``entries`` rows, in seq order) and the overdrafts flagged on
    some of them (till, occurred_at, received_at) to the summaries: in the transaction that
    stored them, after the insert (so a rebuild that locked the ledger is waited for).
    ``known``: members' numbers already read (a push reads them with the accounts)."""
    if not rows and not overdrafts:
        return
    zone = zone_of(tx)
    if zone is None:  # another version's: built anew from the ledger, these entries with it
        ensure(tx, _program_zone(tx))
        return
    fold = Fold(zone)
    for row in rows:
        fold.add(slim(row))
    for terminal_id, occurred, received in overdrafts:
        fold.overdraft(terminal_id, occurred, received)
    buyers = fold.purchases(_held_before(tx, fold) if fold.atoms else {})
    given = known or {}

    def number(ids: Iterable[str]) -> Mapping[str, int]:
        ids = set(ids)
        missing = [m for m in ids if m not in given]
        return {**given, **numbers(tx, missing)} if missing else given

    _write(tx, fold, buyers, number)


TIER_MOVE = "tier_move"  # kpi_counts: a member's tier changed as head office folded entries


def tier_moves(tx: Tx, moves: Sequence[tuple[str, str]], stamp: str) -> None:
    """Count members' tier changes (before, after) made as head office folded new entries
    into their accounts (a purchase's upgrade, a rolling window's lapse), on head office's
    shop day: they are no entries, so a rebuild keeps them as they are."""
    if not moves:
        return
    day = shop_day(stamp, zone_of(tx) or _program_zone(tx))
    counts: dict[str, int] = {}
    for old, new in moves:
        counts[f"{old}>{new}"] = counts.get(f"{old}>{new}", 0) + 1
    tx.many(
        "INSERT INTO kpi_counts (terminal_id, day, figure, key, n, points, amount_minor) "
        "VALUES (?, ?, ?, ?, ?, 0, 0) ON CONFLICT (terminal_id, day, figure, key) DO UPDATE "
        "SET n = kpi_counts.n + excluded.n",
        [(HEADOFFICE, day, TIER_MOVE, k, v) for k, v in sorted(counts.items())],
    )


_PAGE = 20_000


def rebuild(tx: Tx, zone: str) -> None:
    """The summaries anew from the whole ledger, in shop days of ``zone``: one till at a time,
    its entries in seq order a page at a time (the migration of a database made before them,
    and a program's new time zone)."""
    for table in ("kpi_days", "kpi_tills"):
        tx.run(f"DELETE FROM {table}")
    tx.run("DELETE FROM kpi_counts WHERE figure <> ?", (TIER_MOVE,))
    known = {str(m): int(n) for m, n in tx.all("SELECT member_id, kpi_no FROM members")}

    def number(ids: Iterable[str]) -> Mapping[str, int]:
        missing = sorted(set(ids) - known.keys())
        if missing:  # entries of a member head office has no row for: the stub a push makes
            tx.many(
                "INSERT INTO members (member_id, snapshot_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(m, "1970-01-01T00:00:00.000000Z") for m in missing],
            )
            known.update(numbers(tx, missing))
        return known

    cols = ", ".join(COLUMNS)
    for (terminal_id,) in tx.all("SELECT DISTINCT terminal_id FROM entries ORDER BY 1"):
        fold, last = Fold(zone), -1
        while True:
            page = tx.all(
                f"SELECT {cols} FROM entries WHERE terminal_id = ? AND seq > ? ORDER BY seq "
                f"LIMIT {_PAGE}",
                (terminal_id, last),
            )
            for e in page:
                fold.add(e)
            if len(page) < _PAGE:
                break
            last = int(page[-1][1])
        for occurred, received in tx.all(
            "SELECT e.occurred_at, e.received_at FROM overdrafts o JOIN entries e ON "
            "e.entry_id = o.entry_id WHERE e.terminal_id = ?",
            (terminal_id,),
        ):
            fold.overdraft(terminal_id, occurred, received)
        _write(tx, fold, fold.purchases({}), number, fresh=True)
    tx.many(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
        "SET value = excluded.value",
        [(ZONE_KEY, zone), (VERSION_KEY, VERSION)],
    )


def ensure(tx: Tx, zone: str) -> bool:
    """Summaries in shop days of ``zone`` (rebuilt if they are another zone's, with the ledger
    locked against pushes meanwhile): whether they were rebuilt."""
    if zone_of(tx) == zone:
        return False
    if tx.dialect == "postgresql":
        tx.run("LOCK TABLE entries IN SHARE MODE")  # pushes wait; they read the zone after
        if zone_of(tx) == zone:
            return False
    rebuild(tx, zone)
    return True


def _program_zone(tx: Tx) -> str:
    """The current program's time zone (UTC before there is one)."""
    row = tx.one(
        "SELECT p.document FROM settings s JOIN programs p ON p.version = s.value "
        "WHERE s.key = 'program_version'"
    )
    return "UTC" if row is None else str(parse_program(row[0], "head office program").timezone)


def migrate(tx: Tx) -> None:
    """At opening: members get their numbers (a database made before them), and a database
    without summaries of this version gets them, in the current program's time zone."""
    _number_members(tx)
    if zone_of(tx) is None:
        ensure(tx, _program_zone(tx))


def _number_members(tx: Tx) -> None:
    """``members.kpi_no``: PostgreSQL's identity column numbers each new row; SQLite's
    trigger gives a new row the next number."""
    if tx.dialect == "postgresql":
        # Looked up first: ALTER TABLE and CREATE INDEX lock the members against every push
        # even when they have nothing to do, and head office opens its database often.
        if not tx.one(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'members' "
            "AND column_name = 'kpi_no' AND table_schema = current_schema()"
        ):
            tx.run("ALTER TABLE members ADD COLUMN kpi_no BIGINT GENERATED BY DEFAULT AS IDENTITY")
        if not tx.one("SELECT to_regclass('members_kpi_no')")[0]:  # type: ignore[index]
            tx.run("CREATE UNIQUE INDEX members_kpi_no ON members (kpi_no)")
        if tx.one("SELECT to_regclass('kpi_members')")[0]:  # type: ignore[index]
            tx.run("DROP TABLE kpi_members")  # where numbers were kept before (version 2)
        return
    if not any(r[1] == "kpi_no" for r in tx.all("PRAGMA table_info(members)")):
        tx.run("ALTER TABLE members ADD COLUMN kpi_no INTEGER")
    tx.run("UPDATE members SET kpi_no = rowid WHERE kpi_no IS NULL")
    tx.run(
        "CREATE TRIGGER IF NOT EXISTS members_kpi_no AFTER INSERT ON members "
        "WHEN NEW.kpi_no IS NULL BEGIN UPDATE members SET kpi_no = (SELECT "
        "COALESCE(MAX(kpi_no), 0) + 1 FROM members) WHERE rowid = NEW.rowid; END"
    )
    tx.run("CREATE UNIQUE INDEX IF NOT EXISTS members_kpi_no ON members (kpi_no)")
    tx.run("DROP TABLE IF EXISTS kpi_members")  # where numbers were kept before (version 2)
