"""The member cache: what head office last said about each member, plus members enrolled here.

Personal data is kept minimal: a display name, a language, a birthday without year, and the phone
number only as an HMAC with the chain's phone key (for look-up at every till). Snapshots from
head office replace a member's row; the till's own unacknowledged ledger entries are added on
top in balance.py.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers

from loyalty.errors import BadInput
from loyalty.referrals import is_code
from loyalty.tier_window import MAX_DAYS

# "\Z", not "$": "$" also matches before a final newline, so "M1\n" would pass.
MEMBER_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
CARD_NUMBER = re.compile(r"^[0-9]{12,19}\Z")  # ASCII digits: "\d" takes any script's
BIRTHDAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\Z")
LANGUAGE = re.compile(r"^[a-z]{2,3}\Z")
MAX_NAME = 80
MAX_PHONE = 40  # characters as typed, spaces and all
# loyalty.db.to_text's fixed-width UTC text: snapshots compare and sort by it.
TIME = re.compile(r"^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z\Z")
MAX_POINTS = 10**12  # the protocol's bound on points
# rules.once_key: a promotion's id, and for once a year ":" and the year.
ONCE_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}(:[0-9]{4})?\Z")
MAX_ONCE_PAID = 1000
DAY = re.compile(r"^[0-9]{4}-[01][0-9]-[0-3][0-9]\Z")
OFFER_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")  # as loyalty.offers.OFFER_ID
MAX_OFFERS = 100


@dataclass(frozen=True, slots=True)
class Member:
    """One row of the member cache: head office's snapshot of the member."""

    member_id: str
    card_number: str | None
    display_name: str
    language: str
    status: str  # active | blocked
    balance: int  # spendable, per head office
    pending: tuple[tuple[int, str], ...]  # (points, release time) per head office
    tier_id: str | None
    tier_progress: int
    expiring_points: int
    expiring_at: str | None
    has_purchased: bool
    birthday: str | None
    phone_hash: str | None
    snapshot_at: str | None  # head office's clock when it made the snapshot
    # Head office's clock at this till's last complete pull: the member's row was still head
    # office's word then (no change to it came after), so the snapshot is at least this fresh.
    synced_at: str | None = None
    merged_into: str | None = None  # head office merged this duplicate into that member
    # The once-only bonuses head office holds as paid (``rules.once_key``), by any till.
    once_paid: frozenset[str] = frozenset()
    # A rolling tier window: (shop day, spend or points) per day still in it, as of the
    # snapshot (loyalty.tier_window); empty from an older head office (the tier is not aged).
    tier_days: tuple[tuple[str, int], ...] = ()
    # The member's personal offers: (offer id, uses head office counts), loyalty/offers.py.
    offers: tuple[tuple[str, int], ...] = ()
    referral_code: str | None = None  # loyalty.referrals: the member's own, to give to friends

    @property
    def blocked(self) -> bool:
        return self.status == "blocked"


@dataclass(frozen=True, slots=True)
class MemberSnapshot:
    """Head office's view of a member, as it arrives in a pull or a push answer."""

    member_id: str
    snapshot_at: str
    card_number: str | None = None
    display_name: str = ""
    language: str = "en"
    status: str = "active"
    balance: int = 0
    pending: tuple[tuple[int, str], ...] = field(default_factory=tuple)
    tier_id: str | None = None
    tier_progress: int = 0
    expiring_points: int = 0
    expiring_at: str | None = None
    has_purchased: bool = False
    birthday: str | None = None
    phone_hash: str | None = None
    merged_into: str | None = None
    once_paid: tuple[str, ...] = field(default_factory=tuple)  # as Member.once_paid
    tier_days: tuple[tuple[str, int], ...] = field(default_factory=tuple)  # as Member.tier_days
    offers: tuple[tuple[str, int], ...] = field(default_factory=tuple)  # as Member.offers
    referral_code: str | None = None  # as Member.referral_code; None from an older head office


_SELECT = (
    "SELECT member_id, card_number, display_name, language, status, balance, pending_json, "
    "tier_id, tier_progress, expiring_points, expiring_at, has_purchased, birthday, phone_hash, "
    "snapshot_at, (SELECT value FROM meta WHERE key = 'synced_through_at'), merged_into, "
    "once_paid_json, tier_days_json, offers_json, referral_code FROM members"
)


def _member(row: sqlite3.Row) -> Member:
    v = tuple(row)
    pending = tuple((int(p), str(t)) for p, t in json.loads(v[6]))
    once = frozenset(str(k) for k in json.loads(v[17]))
    days = tuple((str(d), int(n)) for d, n in json.loads(v[18]))
    offers = tuple((str(o), int(n)) for o, n in json.loads(v[19]))
    return Member(*v[:6], pending, *v[7:11], bool(v[11]), *v[12:17], once, days, offers, v[20])  # type: ignore[arg-type,call-arg]


def get(conn: sqlite3.Connection, member_id: str) -> Member | None:
    """The member, or the member head office merged them into (when this till has them)."""
    row = conn.execute(_SELECT + " WHERE member_id = ?", (member_id,)).fetchone()
    return _merged(conn, _member(row)) if row else None


def by_card(conn: sqlite3.Connection, card_number: str) -> Member | None:
    row = conn.execute(_SELECT + " WHERE card_number = ?", (card_number,)).fetchone()
    return _merged(conn, _member(row)) if row else None


def _merged(conn: sqlite3.Connection, member: Member) -> Member:
    if member.merged_into is None:
        return member
    row = conn.execute(_SELECT + " WHERE member_id = ?", (member.merged_into,)).fetchone()
    return _member(row) if row else member


def by_referral_code(conn: sqlite3.Connection, code: str) -> Member | None:
    """The member whose own referral code this is, when this till has them."""
    row = conn.execute(_SELECT + " WHERE referral_code = ?", (code,)).fetchone()
    return _merged(conn, _member(row)) if row else None


def by_phone(conn: sqlite3.Connection, phone_hashes: str | Sequence[str]) -> list[Member]:
    """Members with any of these phone hashes (one per phone key the till holds: a member
    hashed with a key since rotated is still found)."""
    hashes = [phone_hashes] if isinstance(phone_hashes, str) else list(phone_hashes)
    marks = ", ".join("?" * len(hashes))
    rows = conn.execute(
        _SELECT + f" WHERE phone_hash IN ({marks}) AND merged_into IS NULL ORDER BY member_id",
        hashes,
    )
    return [_member(r) for r in rows]


def _fold(text: str) -> str:
    """For matching names: any case, with or without accents ("ΝΙΚΟΣ" finds "Νίκος")."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def by_name(conn: sqlite3.Connection, text: str, limit: int) -> list[Member]:
    """Active members whose name has a word starting with each word of ``text`` (any case),
    at most ``limit + 1`` of them: the caller shows a few and asks for more letters beyond.
    A look-up for a shopper without card or phone; not a way to list the cache."""
    words = _fold(text).split()
    if not words:
        return []
    found: list[Member] = []
    rows = conn.execute(
        "SELECT member_id, display_name FROM members "
        "WHERE status = 'active' AND merged_into IS NULL ORDER BY display_name, member_id"
    )
    for member_id, name in rows:
        parts = _fold(str(name)).split()
        if all(any(p.startswith(w) for p in parts) for w in words):
            member = get(conn, member_id)
            if member is not None:
                found.append(member)
            if len(found) > limit:
                break
    return found


def card_digits(code: str) -> str | None:
    """A card number as a cashier may type it ("4000 0000 0002", "4000-0000-0002"): its
    digits, or None when it is not card-shaped."""
    digits = re.sub(r"[\s-]", "", code)
    return digits if CARD_NUMBER.match(digits) else None


def normalise_phone(phone: str, country: str | None, strict: bool = False) -> str:
    """A phone number as the world writes it (E.164): with the shop's country as the default,
    "600 100 200" and "+48 600 100 200" in Poland are both "+48600100200". Refuses what cannot
    be a phone number there (``phone_unparseable`` names the country; ``malformed_phone``
    when the till has no country and the number has no "+"). ``strict`` (a new enrolment)
    also wants a number in use there (libphonenumber's ranges), not just the right length."""
    text = phone.strip()
    problem = (
        BadInput("phone_unparseable", country=country) if country else BadInput("malformed_phone")
    )
    if not text or len(text) > MAX_PHONE:
        raise problem
    if country is None and text.startswith("00"):
        text = "+" + text[2:]  # the international prefix of most of the world, Europe's
    try:
        number = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        raise problem from None
    if not phonenumbers.is_possible_number(number):
        raise problem
    if strict and not phonenumbers.is_valid_number(number):
        raise problem
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_hash(key: str, phone: str, country: str | None = None, strict: bool = False) -> str:
    """The keyed hash a till stores and head office matches: HMAC-SHA256 of the E.164 number
    with the chain's phone key (the raw number is never stored)."""
    e164 = normalise_phone(phone, country, strict)
    return hmac.new(key.encode(), e164.encode(), hashlib.sha256).hexdigest()


def check_country(country: str) -> str:
    """An ISO 3166 country code that phone numbers can be read for ("PL")."""
    code = country.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise BadInput("unknown_country", value=country[:10])
    return code


def check_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise BadInput("malformed_name", maximum=MAX_NAME)
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in cleaned):
        raise BadInput("malformed_name", maximum=MAX_NAME)
    return cleaned


def check_snapshot(s: MemberSnapshot) -> None:
    if not MEMBER_ID.match(s.member_id):
        raise BadInput("malformed_member_id", value=s.member_id[:40])
    if s.card_number is not None and not CARD_NUMBER.match(s.card_number):
        raise BadInput("malformed_card_number", value=s.card_number[:40])
    if s.birthday is not None and not BIRTHDAY.match(s.birthday):
        raise BadInput("malformed_birthday", value=s.birthday[:10])
    if s.status not in ("active", "blocked"):
        raise BadInput("malformed_status", value=s.status[:20])
    if not LANGUAGE.match(s.language):
        raise BadInput("malformed_language", value=s.language[:10])
    if len(s.display_name) > MAX_NAME:
        raise BadInput("malformed_name", maximum=MAX_NAME)
    if s.merged_into is not None and not MEMBER_ID.match(s.merged_into):
        raise BadInput("malformed_member_id", value=s.merged_into[:40])
    if s.tier_id is not None and len(s.tier_id) > 64:
        raise BadInput("malformed_tier", value=s.tier_id[:20])
    # Called for every member of every push answer and pull page: the common case (no pending
    # points, no expiry) costs two regex matches, not a list and generators per member.
    if not TIME.match(s.snapshot_at):
        raise BadInput("malformed_time")
    if s.expiring_at is not None and not TIME.match(s.expiring_at):
        raise BadInput("malformed_time")
    if not (
        -MAX_POINTS <= s.balance <= MAX_POINTS
        and -MAX_POINTS <= s.tier_progress <= MAX_POINTS
        and -MAX_POINTS <= s.expiring_points <= MAX_POINTS
    ):
        raise BadInput("malformed_points")
    for n, t in s.pending:
        if not TIME.match(t):
            raise BadInput("malformed_time")
        if not -MAX_POINTS <= n <= MAX_POINTS:
            raise BadInput("malformed_points")
    if s.once_paid and (
        len(s.once_paid) > MAX_ONCE_PAID or not all(ONCE_KEY.match(k) for k in s.once_paid)
    ):
        raise BadInput("malformed_once_paid")
    if s.tier_days and (
        len(s.tier_days) > MAX_DAYS
        or not all(DAY.match(d) and -MAX_POINTS <= n <= MAX_POINTS for d, n in s.tier_days)
    ):
        raise BadInput("malformed_tier_days")
    if s.offers and (
        len(s.offers) > MAX_OFFERS
        or not all(OFFER_ID.match(o) and 0 <= n <= MAX_POINTS for o, n in s.offers)
    ):
        raise BadInput("malformed_offer", field="offers")
    if s.referral_code is not None and not is_code(s.referral_code):
        raise BadInput("malformed_referral_code")


_UPSERT = (
    "INSERT INTO members (member_id, card_number, display_name, language, status, "
    "balance, pending_json, tier_id, tier_progress, expiring_points, expiring_at, "
    "has_purchased, birthday, phone_hash, snapshot_at, updated_at, merged_into, "
    "once_paid_json, tier_days_json, offers_json, referral_code) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(member_id) DO UPDATE SET card_number = excluded.card_number, "
    "display_name = excluded.display_name, language = excluded.language, "
    "status = excluded.status, balance = excluded.balance, "
    "pending_json = excluded.pending_json, tier_id = excluded.tier_id, "
    "tier_progress = excluded.tier_progress, expiring_points = excluded.expiring_points, "
    "expiring_at = excluded.expiring_at, has_purchased = excluded.has_purchased, "
    "birthday = excluded.birthday, phone_hash = excluded.phone_hash, "
    "snapshot_at = excluded.snapshot_at, updated_at = excluded.updated_at, "
    "tier_days_json = excluded.tier_days_json, offers_json = excluded.offers_json, "
    # Head office's code wins; a snapshot without one (an older head office) keeps the till's.
    "referral_code = COALESCE(excluded.referral_code, members.referral_code), "
    # Head office's once-only payments only grow: a snapshot without them (an older head
    # office) keeps what an earlier one said.
    "once_paid_json = CASE WHEN excluded.once_paid_json = '[]' THEN members.once_paid_json "
    "ELSE excluded.once_paid_json END, "
    # A merge is for good: a snapshot that does not mention it (a push answer) keeps it.
    "merged_into = COALESCE(excluded.merged_into, members.merged_into) "
    # An older snapshot (a slow answer overtaken by a newer pull) never wins.
    "WHERE members.snapshot_at IS NULL OR excluded.snapshot_at >= members.snapshot_at"
)


def _pending_json(pending: tuple[tuple[int, str], ...]) -> str:
    """``json.dumps`` of the pending points, written out directly: check_snapshot has made
    sure each is an int and a fixed-width UTC time (digits and "-:.TZ", nothing to escape)."""
    return "[" + ",".join(f'[{int(n)},"{t}"]' for n, t in pending) + "]"


def upsert(conn: sqlite3.Connection, snapshots: Iterable[MemberSnapshot], now: str) -> int:
    """Replace members' rows with head office's snapshots. Inside the caller's transaction.
    Every snapshot is checked before any row is written; one statement for them all."""
    snapshots = list(snapshots)
    for s in snapshots:
        check_snapshot(s)
    conn.executemany(
        _UPSERT,
        [
            (
                s.member_id,
                s.card_number,
                s.display_name,
                s.language,
                s.status,
                s.balance,
                _pending_json(s.pending),
                s.tier_id,
                s.tier_progress,
                s.expiring_points,
                s.expiring_at,
                int(s.has_purchased),
                s.birthday,
                s.phone_hash,
                s.snapshot_at,
                now,
                s.merged_into,
                json.dumps(sorted(s.once_paid)) if s.once_paid else "[]",
                json.dumps([list(x) for x in s.tier_days]) if s.tier_days else "[]",
                json.dumps([list(x) for x in s.offers]) if s.offers else "[]",
                s.referral_code,
            )  # fmt: skip
            for s in snapshots
        ],
    )
    # A merge counts whatever the snapshot's age (one older than this till's row was not
    # applied above): the duplicate's look-ups must lead to the member kept from now on.
    conn.executemany(
        "UPDATE members SET merged_into = ? WHERE member_id = ? AND merged_into IS NULL",
        [(s.merged_into, s.member_id) for s in snapshots if s.merged_into],
    )
    return len(snapshots)


def erase(conn: sqlite3.Connection, member_ids: Iterable[str]) -> None:
    """Head office erased these members: drop their personal data from this till. Their ledger
    entries stay (they hold only the pseudonymous member id and points).

    The print queue (``print_jobs``, the printer package's table in the same file) holds each
    receipt as printed, name included: the member's sale receipts and enrolment slip go too.
    A reprint rebuilds a receipt from the sale record, which names no one."""
    queue = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'print_jobs'"
    ).fetchone()
    for member_id in member_ids:
        if queue:
            card = conn.execute(
                "SELECT card_number FROM members WHERE member_id = ?", (member_id,)
            ).fetchone()
            conn.execute(
                "DELETE FROM print_jobs WHERE receipt_no IN "
                "(SELECT receipt_no FROM sales WHERE member_id = ?) OR receipt_no = ?",
                (member_id, f"ENROL-{card[0]}" if card and card[0] else ""),
            )
        conn.execute("DELETE FROM members WHERE member_id = ?", (member_id,))
        conn.execute("DELETE FROM enrolments WHERE member_id = ?", (member_id,))
        conn.execute("DELETE FROM phone_rehashes WHERE member_id = ?", (member_id,))


def read_members_file(
    path: Path, salt: str, snapshot_at: str, country: str | None = None
) -> list[MemberSnapshot]:
    """A CSV export of members (member_id, card_number, display_name, language, phone, birthday,
    tier_id, balance, status) as snapshots; the phone is hashed on the way in."""
    out: list[MemberSnapshot] = []
    try:
        with path.open(encoding="utf-8", newline="") as f:
            for i, row in enumerate(csv.DictReader(f), start=2):
                try:
                    phone = (row.get("phone") or "").strip()
                    snap = MemberSnapshot(
                        member_id=(row.get("member_id") or "").strip(),
                        snapshot_at=snapshot_at,
                        card_number=(row.get("card_number") or "").strip() or None,
                        display_name=check_name(row.get("display_name") or ""),
                        language=(row.get("language") or "en").strip() or "en",
                        status=(row.get("status") or "active").strip() or "active",
                        balance=int(row.get("balance") or 0),
                        tier_id=(row.get("tier_id") or "").strip() or None,
                        tier_progress=int(row.get("tier_progress") or 0),
                        has_purchased=int(row.get("balance") or 0) > 0,
                        birthday=(row.get("birthday") or "").strip() or None,
                        phone_hash=phone_hash(salt, phone, country) if phone else None,
                    )
                    check_snapshot(snap)
                except (ValueError, BadInput) as exc:
                    raise BadInput("malformed_members_file", file=str(path), line=i,
                                   detail=str(exc)) from None  # fmt: skip
                out.append(snap)
    except OSError as exc:
        raise BadInput("unreadable_file", file=str(path), detail=exc.strerror or "") from None
    return out
