"""The till's loyalty operations, each one atomic: set up, install a program, enrol, adjust,
look up and show a balance. Sales and refunds are in sales.py and refunds.py.

``Till`` owns the one writer connection of its process. Every operation takes ``now`` (aware UTC)
so tests and replays control the clock; the default is the system clock.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import sqlite3
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from stdnum import luhn

from loyalty import denylist, files, ledger, members, referrals, rehash
from loyalty.balance import Balance, compute, read_figures
from loyalty.db import Database, set_meta, to_text, utc_now
from loyalty.errors import BadInput, NotFound, NotInitialised, ProgramError, Refused
from loyalty.ledger import Entry, NewEntry
from loyalty.members import Member, MemberSnapshot
from loyalty.program import Program, parse_program

TERMINAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")  # "\Z": "$" lets a final "\n" in
CASHIER_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}\Z")
DB_FILE = "till.sqlite"
CONSENT_VERSION = "2026-1"  # what a program without terms (loyalty/terms.py) is consented to
# Who recorded the shopper's consent: the cashier, told by the shopper, or the shopper on the
# shopper display (display/touch.py).
ConsentBy = Literal["cashier", "shopper"]


@dataclass(frozen=True, slots=True)
class Enrolment:
    member: Member
    card_number: str
    entries: tuple[Entry, ...]
    referred_by: str | None = None  # the friend's referral code the member was enrolled with


def check_cashier(cashier_id: str) -> str:
    if not CASHIER_ID.match(cashier_id or ""):
        raise BadInput("malformed_cashier_id")
    return cashier_id


def _aware(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return utc_now()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("naive datetime: times must be timezone-aware")
    return now


class Till:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._program: Program | None = None
        self._terminal_id: str | None = None

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, data_dir: str | Path, must_exist: bool = True) -> Till:
        path = Path(data_dir) / DB_FILE
        if must_exist and not path.exists():
            raise NotInitialised(path=str(Path(data_dir)))
        files.private_dir(path.parent)
        till = cls(Database(path))
        if must_exist and till.db.meta("terminal_id") is None:
            raise NotInitialised(path=str(Path(data_dir)))
        return till

    def close(self) -> None:
        self.db.close()

    def initialise(
        self,
        terminal_id: str,
        program_text: str,
        source: str,
        now: dt.datetime | None = None,
        phone_salt: str | None = None,
        country: str | None = None,
    ) -> Program:
        """Set up an empty till: its id, its first program, a phone salt of its own (used
        until head office sends the chain's phone key) and the shop's country."""
        now = _aware(now)
        if not TERMINAL_ID.match(terminal_id or ""):
            raise BadInput("malformed_terminal_id")
        existing = self.db.meta("terminal_id")
        if existing is not None and existing != terminal_id:
            raise Refused("already_initialised", terminal_id=existing)
        program = parse_program(program_text, source)
        country = members.check_country(country) if country else None
        with self.db.write() as conn:
            set_meta(conn, "terminal_id", terminal_id)
            if country:
                set_meta(conn, "country", country)
            if self.db.meta("phone_salt") is None:
                set_meta(conn, "phone_salt", phone_salt or secrets.token_hex(16))
            if self.db.meta("card_prefix") is None:
                # Till-issued card numbers: 2 + 5 digits of this till + 5-digit counter + Luhn.
                set_meta(conn, "card_prefix", f"2{zlib.crc32(terminal_id.encode()) % 100000:05d}")
            self._store_program(conn, program, now)
        self._program = program
        return program

    @property
    def terminal_id(self) -> str:
        """Fixed once the till is set up, so it is read from the file only once."""
        if self._terminal_id is None:
            value = self.db.meta("terminal_id")
            if value is None:
                raise NotInitialised(path=self.db.path)
            self._terminal_id = value
        return self._terminal_id

    # -- the program -----------------------------------------------------------------------
    @property
    def program(self) -> Program:
        """The program in force. Cached: every change of program goes through this object
        (install_program, outbox.apply_page), which drops the cache."""
        if self._program is None:
            version = self.db.meta("program_version")
            row = self.db.one("SELECT document FROM programs WHERE version = ?", (version,))
            if row is None:
                raise NotInitialised(path=self.db.path)
            self._program = parse_program(row["document"], f"stored program {version}")
        return self._program

    def forget_program(self) -> None:
        self._program = None

    def install_program(self, text: str, source: str, now: dt.datetime | None = None) -> Program:
        """Check a new program and make it the one in force. A bad document raises ProgramError
        and the previous program stays in force."""
        program = parse_program(text, source)
        current = self.program
        if program.currency != current.currency:
            raise ProgramError(source, "program.currency", "currency_changed",
                               value=program.currency)  # fmt: skip
        with self.db.write() as conn:
            self._store_program(conn, program, _aware(now))
        self._program = program
        return program

    def _store_program(self, conn: sqlite3.Connection, program: Program, now: dt.datetime) -> None:
        conn.execute(
            "INSERT INTO programs(version, document, received_at) VALUES (?, ?, ?) "
            "ON CONFLICT(version) DO NOTHING",
            (program.version, program.document, to_text(now)),
        )
        stored = conn.execute(
            "SELECT document FROM programs WHERE version = ?", (program.version,)
        ).fetchone()[0]
        if stored != program.document:
            raise ProgramError(program.document[:0] or "program", "program.version",
                               "version_reused", value=program.version)  # fmt: skip
        set_meta(conn, "program_version", program.version)

    # -- members ---------------------------------------------------------------------------
    def member(self, member_id: str, *, denied_ok: bool = False) -> Member:
        """The member to serve; a blocked or deny-listed one is refused (``member_blocked``)
        unless ``denied_ok`` (a record of the past: a reprinted receipt)."""
        with self.db.read() as conn:
            found = members.get(conn, member_id)
            if found is not None and not denied_ok:
                denylist.refuse_denied(conn, found)
        if found is None:
            raise NotFound("unknown_member", member=member_id[:40])
        return found

    def find_member(self, code: str) -> Member:
        """A member id, a card number (typed with or without spaces or dashes) or a phone
        number, as a cashier would type it."""
        code = code.strip()
        with self.db.read() as conn:
            found = members.get(conn, code)
            card = members.card_digits(code)
            if found is None and card is not None:
                found = members.by_card(conn, card)
        if found is None:
            try:
                return self.find_by_phone(code)
            except BadInput:
                raise NotFound("unknown_member", member=code[:40]) from None
        with self.db.read() as conn:
            denylist.refuse_denied(conn, found, members.card_digits(code) or code)
        return found

    def find_by_phone(self, phone: str) -> Member:
        """The member with this phone number, and no other kind of code (a shopper checking
        in on the display types a phone, never a card number). ``BadInput`` when it cannot be
        a phone number (the rules of normalise_phone), ``unknown_member`` when no one, or more
        than one, has it."""
        hashes = self.phone_hashes(phone)
        with self.db.read() as conn:
            matches = members.by_phone(conn, hashes)
        found = matches[0] if len(matches) == 1 else None
        for match in matches:
            # Even when the number finds two members (one enrolled again offline under a
            # newer key): once both are under the current key, head office merges them.
            self._rehash(match, hashes)
        if found is None:
            raise NotFound("unknown_member", member=phone[:40])
        with self.db.read() as conn:
            denylist.refuse_denied(conn, found, phone)
        return found

    @property
    def country(self) -> str | None:
        """The shop's country, for phone numbers typed without "+": the till's own, else the
        program's."""
        return self.db.meta("country") or self.program.country

    def phone_keys(self) -> list[tuple[str, str]]:
        """(key id, key) of every phone key this till holds, the one to hash with last: head
        office's chain-wide keys once a pull brought them (older ones kept so members hashed
        with them are still found), before that the till's own salt."""
        local = [("local", self.db.meta("phone_salt") or "")]
        chain = json.loads(self.db.meta("phone_keys") or "[]")
        return local + [(str(k), str(v)) for k, v in chain]

    def phone_hashes(self, phone: str) -> list[str]:
        country = self.country
        return [members.phone_hash(key, phone, country) for _, key in self.phone_keys()]

    def _rehash(self, member: Member, hashes: list[str]) -> None:
        """``member`` was found by a phone number hashing to ``hashes`` (one per key of
        phone_keys): if by a key older than the current one, queue the hash under the current
        one for head office (loyalty/rehash.py)."""
        key_id = self.phone_keys()[-1][0]
        current = hashes[-1]
        if key_id == "local" or member.phone_hash in (None, current):
            return
        if member.phone_hash not in hashes:
            return
        queued = rehash.PhoneRehash(member.member_id, member.phone_hash, current, key_id)
        with self.db.write() as conn:
            rehash.record(conn, queued, to_text(utc_now()))

    def _phone_hash(self, phone: str) -> str:
        return members.phone_hash(self.phone_keys()[-1][1], phone, self.country, strict=True)

    def import_members(self, path: Path, now: dt.datetime | None = None) -> int:
        now = _aware(now)
        key = self.phone_keys()[-1][1]
        snaps = members.read_members_file(path, key, to_text(now), self.country)
        with self.db.write() as conn:
            return members.upsert(conn, snaps, to_text(now))

    def apply_snapshots(self, snaps: list[MemberSnapshot], now: dt.datetime | None = None) -> int:
        with self.db.write() as conn:
            return members.upsert(conn, snaps, to_text(_aware(now)))

    def enroll(
        self,
        name: str,
        cashier_id: str,
        consent: bool,
        language: str = "en",
        phone: str | None = None,
        birthday: str | None = None,
        now: dt.datetime | None = None,
        referred_by: str | None = None,
        consent_by: ConsentBy = "cashier",
        terms_version: str | None = None,
    ) -> Enrolment:
        """A new member at the till, with their consent recorded. Gets a card number and a
        referral code of their own at once so the shopper can earn on this very sale and tell
        friends; head office learns of them at the next sync. ``referred_by``: a friend's
        referral code as typed (checked here for typos; head office decides the rest).

        The consent is to the program's terms (their version, or the till's built-in one for a
        program without terms), told to the cashier (``consent_by`` "cashier") or accepted by
        the shopper on the display ("shopper", for the ``terms_version`` the display showed:
        refused as ``terms_changed`` when the program's terms are no longer that version)."""
        now = _aware(now)
        if not consent:
            raise Refused("consent_required")
        referrer_code = referrals.check_code(referred_by) if referred_by else None
        if referrer_code is not None and self.program.referrals is None:
            raise Refused("referrals_off")
        name = members.check_name(name)
        check_cashier(cashier_id)
        if not members.LANGUAGE.match(language):
            raise BadInput("malformed_language", value=language[:10])
        if birthday is not None and not members.BIRTHDAY.match(birthday):
            raise BadInput("malformed_birthday", value=birthday[:10])
        hashed = self._phone_hash(phone) if phone else None
        program = self.program
        version = program.terms.version if program.terms else CONSENT_VERSION
        if consent_by == "shopper" and terms_version != version:
            raise Refused("terms_changed")
        stamp = to_text(now)
        hashes = self.phone_hashes(phone) if phone else []
        if hashes:
            with self.db.read() as conn:
                known = members.by_phone(conn, hashes)
            for other in known:  # the shopper is here: their hash brought up to date
                self._rehash(other, hashes)
            if known:
                raise Refused("phone_already_enrolled")
        with self.db.write() as conn:
            if hashed and members.by_phone(conn, hashes):
                raise Refused("phone_already_enrolled")
            counter = int(self.db.meta("cards_issued") or "0") + 1
            body = f"{self.db.meta('card_prefix')}{counter:05d}"
            card = body + luhn.calc_check_digit(body)
            member_id = f"M{card}"
            own_code = referrals.new_code()
            set_meta(conn, "cards_issued", str(counter))
            conn.execute(
                "INSERT INTO enrolments (member_id, card_number, display_name, language, "
                "phone_hash, birthday, consent_at, consent_version, consent_by, enrolled_at, "
                "terminal_id, cashier_id, referral_code, referred_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    member_id,
                    card,
                    name,
                    language,
                    hashed,
                    birthday,
                    stamp,
                    version,
                    consent_by,
                    stamp,
                    self.terminal_id,
                    cashier_id,
                    own_code,
                    referrer_code,
                ),  # fmt: skip
            )
            # Stamped on head office's clock (as far as the till knows it): head office's own
            # snapshots of the member must win over this one, however far ahead this till runs.
            snap = MemberSnapshot(
                member_id=member_id, snapshot_at=to_text(self.headoffice_time(now)),
                card_number=card, display_name=name,
                language=language, birthday=birthday, phone_hash=hashed,
                tier_id=program.tiers[0].id, referral_code=own_code,
            )  # fmt: skip
            members.upsert(conn, [snap], stamp)
            entries = ledger.append(
                conn, self.terminal_id, [NewEntry(member_id, "enroll", 0, reason="till")],
                currency=program.currency, program_version=program.version, occurred_at=stamp,
                offline=True, cashier_id=cashier_id,
            )  # fmt: skip
            member = members.get(conn, member_id)
        assert member is not None
        return Enrolment(member, card, tuple(entries), referrer_code)

    def headoffice_time(self, now: dt.datetime) -> dt.datetime:
        """``now`` on head office's clock, as far as the till knows it: its own clock less the
        drift measured at the last sync. A snapshot's age must be measured on the clock that
        stamped it; a till whose clock is days behind would otherwise keep a stale snapshot
        "fresh" for days longer, and one days ahead would refuse every offline redemption."""
        drift = self.db.meta("clock_drift_ms")
        if drift is None:
            return now
        return now - dt.timedelta(milliseconds=int(drift))

    # -- balance and adjustments -----------------------------------------------------------
    def balance(self, member_id: str, now: dt.datetime | None = None) -> Balance:
        now = _aware(now)
        with self.db.read() as conn:
            member = members.get(conn, member_id)
            if member is None:
                raise NotFound("unknown_member", member=member_id[:40])
            unacked = ledger.unacked_for_member(conn, member.member_id)
        return compute(self.program, member, unacked, now)

    def adjust(
        self,
        member_id: str,
        points: int,
        reason: str,
        cashier_id: str,
        now: dt.datetime | None = None,
    ) -> Entry:
        """A manual correction with a reason and a cashier: a new entry, never an edit."""
        now = _aware(now)
        if not isinstance(points, int) or isinstance(points, bool) or points == 0:
            raise BadInput("malformed_points")
        if not reason.strip() or len(reason) > 200:
            raise BadInput("reason_required")
        check_cashier(cashier_id)
        program = self.program
        with self.db.write() as conn:
            member = members.get(conn, member_id)
            if member is None:
                raise NotFound("unknown_member", member=member_id[:40])
            if points > 0:  # taking points back from a deny-listed member stays possible
                denylist.refuse_denied(conn, member)
            member_id = member.member_id  # a merged duplicate's: the member kept
            if points < 0:
                balance = compute(program, member, ledger.unacked_for_member(conn, member_id), now)
                if balance.available + points < 0:
                    raise Refused("insufficient_points", available=balance.available)
            (entry,) = ledger.append(
                conn, self.terminal_id, [NewEntry(member_id, "adjust", points, reason=reason)],
                currency=program.currency, program_version=program.version,
                occurred_at=to_text(now), offline=True, cashier_id=cashier_id,
            )  # fmt: skip
        return entry

    def receipt_entries(self, receipt_no: str) -> list[Entry]:
        with self.db.read() as conn:
            return ledger.for_receipts(conn, [receipt_no])

    def outbox_size(self) -> int:
        with self.db.read() as conn:
            return ledger.unacked_count(conn)

    def unsynced_sales(self) -> int:
        """Sales and refunds (and receipt-less entries) head office has not acknowledged."""
        with self.db.read() as conn:
            return ledger.unsynced_sales(conn)

    def sale_figures(self, receipt_no: str) -> tuple[Balance, Balance] | None:
        """The balances (before, after) a sale's or refund's receipt printed; None for a sale
        made before the till kept them."""
        row = self.db.one(
            "SELECT figures_json FROM sale_figures WHERE receipt_no = ?", (receipt_no,)
        )
        return read_figures(row["figures_json"]) if row else None

    def sale_record(self, receipt_no: str) -> dict[str, object]:
        row = self.db.one("SELECT * FROM sales WHERE receipt_no = ?", (receipt_no,))
        if row is None:
            raise NotFound("unknown_receipt", receipt=receipt_no[:40])
        record = dict(row)
        record["lines"] = json.loads(record.pop("lines_json"))
        return record
