"""The wire protocol between a till (or another channel) and head office: typed payloads that
both sides share, their JSON codecs, and the problem codes.

Requests forbid unknown fields and carry their limits (lengths, patterns, ranges), so head office
decodes them strictly and a malformed body is a 4xx with a code, never a server error. Answers
ignore fields they do not know, so a newer head office can add fields without breaking older
tills. Money is integer minor units, points integers, times the fixed-width UTC text of
``loyalty.db.to_text``. This module imports no HTTP or database library: the till loads it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct, field

from loyalty import referrals
from loyalty.db import from_text, to_text
from loyalty.ledger import Entry
from loyalty.members import MemberSnapshot
from loyalty.outbox import ChangePage, PendingEnrolment
from loyalty.rehash import PhoneRehash
from loyalty.schema import LEDGER_KINDS
from sync.protocol_activity import ChannelActivity
from sync.protocol_offers import OfferDefinition, WirePurchase

API_VERSION = "1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_BATCH = 5000
MAX_PAGE = 5000
MAX_BODY_BYTES = 32 * 1024 * 1024  # decompressed

# msgspec matches patterns with Python's re.search, where "$" also matches before a final
# newline ("M1\n" would pass "^...$"): every pattern ends in "\Z". The OpenAPI document writes
# it back as "$", which is the end of the text in JSON Schema's (ECMA-262) regexes.
Identifier = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,32}\Z")]
CashierId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.-]{1,32}\Z")]
Text64 = Annotated[str, Meta(max_length=64)]
Text200 = Annotated[str, Meta(max_length=200)]
Uuidish = Annotated[str, Meta(pattern=r"^[A-Za-z0-9-]{1,64}\Z")]
Hash = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}\Z")]
ReferralCode = Annotated[str, Meta(pattern=referrals.CODE.pattern)]  # check symbol: is_code
Timestamp = Annotated[
    str,
    Meta(pattern=r"^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z\Z"),
]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}\Z")]
Seq = Annotated[int, Meta(ge=1, le=2**53)]
Points = Annotated[int, Meta(ge=-(10**12), le=10**12)]
Minor = Annotated[int, Meta(ge=-(10**15), le=10**15)]
Epoch = Annotated[int, Meta(ge=0, le=2**31)]
Kind = Literal["earn", "redeem", "reverse", "adjust", "bonus", "expire", "donate", "enroll"]
assert set(Kind.__args__) == set(LEDGER_KINDS)  # type: ignore[attr-defined]


# gc=False: payloads hold only values, lists and dicts decoded from JSON, never a cycle, so
# the garbage collector need not track them. A push decodes and builds tens of thousands of
# them; tracked, they set off collections that cost head office ~15% of its CPU (bench/sync.py).
class Request(Struct, forbid_unknown_fields=True, gc=False):
    """A body head office decodes strictly."""


class Answer(Struct, gc=False):
    """A body the till decodes tolerantly (unknown fields are ignored)."""


# -- push -------------------------------------------------------------------------------------
class WireEntry(Request):
    """One ledger entry as it travels: the till's facts, hash chain included."""

    entry_id: Uuidish
    terminal_id: Identifier
    seq: Seq
    member_id: Identifier
    kind: Kind
    points: Points
    amount_minor: Minor
    currency: Currency
    receipt_no: Text64 | None
    reverses: Uuidish | None
    reward_id: Text64 | None
    program_version: Text64
    occurred_at: Timestamp
    offline: bool
    cashier_id: CashierId
    reason: Text200
    prev_hash: Hash
    hash: Hash


class WireEnrolment(Request, omit_defaults=True):
    member_id: Identifier
    card_number: Annotated[str, Meta(pattern=r"^[0-9]{12,19}\Z")]
    display_name: Annotated[str, Meta(min_length=1, max_length=80)]
    language: Annotated[str, Meta(pattern=r"^[a-z]{2,3}\Z")]
    phone_hash: Hash | None
    birthday: Annotated[str, Meta(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\Z")] | None
    consent_at: Timestamp
    consent_version: Text64
    enrolled_at: Timestamp
    terminal_id: Identifier
    cashier_id: CashierId
    # loyalty/referrals.py: the member's own code as the till gave it (head office keeps it
    # unless another member holds it), and the code of the friend who referred them.
    # Optional, left out when empty: a head office that predates referrals reads the rest.
    referral_code: ReferralCode | None = None
    referred_by: ReferralCode | None = None


class WirePhoneRehash(Request):
    """A member's phone hash under the chain's current phone key, made by a till that was given
    the raw number (a look-up or an enrolment) and found the member by ``old_hash``, the hash
    under an older key. Head office replaces ``old_hash`` with it (sync/headoffice/phone_keys.py)
    so older keys can be retired."""

    member_id: Identifier
    old_hash: Hash
    phone_hash: Hash
    key_id: Identifier


class PushRequest(Request, omit_defaults=True):
    """A batch of one till's unacknowledged entries, contiguous and in ``seq`` order. Fields
    at their defaults are left out, so a head office that predates one still reads the rest."""

    terminal_id: Identifier
    entries: Annotated[list[WireEntry], Meta(max_length=MAX_BATCH)]
    enrolments: Annotated[list[WireEnrolment], Meta(max_length=MAX_BATCH)] = []
    # The till's chain segment (see EpochRequest): head office refuses a push of an older
    # one (``epoch_stale``), so a till restored from an old backup cannot write into the
    # numbers it already used.
    epoch: Epoch = 0
    phone_rehashes: Annotated[list[WirePhoneRehash], Meta(max_length=MAX_BATCH)] = []
    purchases: Annotated[list[WirePurchase], Meta(max_length=MAX_BATCH)] = []  # protocol_offers


EntryStatus = Literal["stored", "duplicate", "conflict", "held"]


class EntryHead(Answer):
    """The part of a pushed entry that places it in its till's chain: what head office reads
    of an entry that breaks the protocol's rules, to hold it (``held``) in its place instead of
    refusing the whole batch."""

    entry_id: Uuidish
    terminal_id: Identifier
    seq: Seq
    prev_hash: Hash
    hash: Hash
    member_id: str = ""


class LoosePushRequest(Request):
    """A push read entry by entry (``PushRequest`` with each entry left undecoded)."""

    terminal_id: Identifier
    entries: Annotated[list[msgspec.Raw], Meta(max_length=MAX_BATCH)]
    enrolments: Annotated[list[WireEnrolment], Meta(max_length=MAX_BATCH)] = []
    epoch: Epoch = 0
    phone_rehashes: Annotated[list[WirePhoneRehash], Meta(max_length=MAX_BATCH)] = []
    purchases: Annotated[list[msgspec.Raw], Meta(max_length=MAX_BATCH)] = []  # each read alone


class EntryResult(Answer):
    """What head office did with one entry: stored now, already stored (a replay), refused
    because another entry holds its ``(terminal_id, seq)`` or its ``entry_id``, or held:
    kept in its place in the chain but not credited (it breaks the protocol's rules, its
    chain or the program's arithmetic) and alerted. A held entry leaves the till's outbox."""

    seq: int
    entry_id: str
    status: EntryStatus
    overdraft: bool = False  # an offline redemption took the balance below zero (flagged)
    chain_ok: bool = True  # its prev_hash links to the entry head office holds before it


class MemberState(Answer):
    """Head office's authoritative view of a member."""

    member_id: str
    snapshot_at: str
    card_number: str | None = None
    display_name: str = ""
    language: str = "en"
    status: Literal["active", "blocked"] = "active"
    balance: int = 0
    pending: list[tuple[int, str]] = []  # (points, release time)
    tier_id: str | None = None
    tier_progress: int = 0
    expiring_points: int = 0
    expiring_at: str | None = None
    has_purchased: bool = False
    birthday: str | None = None
    phone_hash: str | None = None
    overdrawn: bool = False
    merged_into: str | None = None  # a duplicate enrolment: this member's points are there
    # The once-only bonuses head office holds as paid to the member (``rules.once_key``:
    # "welcome", "birthday:2026"), whichever till paid them: a till pays none of these again.
    # Optional: an older head office sends none, an older till ignores it.
    once_paid: list[str] = []
    # A rolling tier window: what each shop day still in it contributed to ``tier_progress``
    # (ISO day, spend or points), oldest first, so the till drops each day at the shop's
    # midnight on its own clock (loyalty.tier_window). Optional like ``once_paid``.
    tier_days: list[tuple[str, int]] = []
    # The member's personal offers: (offer id, uses head office counts); their definitions
    # come in ``ChangesAnswer.offers`` (sync/protocol_offers.py). Optional like ``once_paid``.
    offers: list[tuple[str, int]] = []
    # The member's own referral code (loyalty/referrals.py); optional like ``once_paid``.
    referral_code: str | None = None


class PushAnswer(Answer):
    """``acked_seq``: the highest seq of this till's current epoch head office holds, all of
    it gap-free. It says nothing about *which* entries those are: a till acknowledges an entry
    only from its own ``results`` line (``stored`` or ``duplicate``, same entry id), and an
    ``acked_seq`` above the till's own last seq means head office holds entries the till lost
    (it was restored from a backup): see EpochRequest."""

    acked_seq: int
    results: list[EntryResult]
    members: list[MemberState]  # authoritative balances of the members this batch touched
    enrolments: list[str]  # member ids of the enrolments head office now holds
    server_time: str
    epoch: int = 0
    # The phone hashes of ``phone_rehashes`` head office has seen (applied, or refused as out
    # of date: either way the till sends them no more).
    phone_rehashes: list[str] = []


class EntryRef(Request):
    """An entry named by its place in the till's chain."""

    seq: Seq
    entry_id: Uuidish
    prev_hash: Hash
    hash: Hash


class EpochRequest(Request):
    """A till whose ledger forked from what head office holds (restored from a backup, so it
    numbered new entries with seqs head office already holds for lost ones) asks for a new
    chain segment. ``entries``: its unacknowledged entries, oldest first (the first
    ``MAX_BATCH``); ``next_seq`` and ``last_hash``: the end of its ledger. Head office names
    the leading entries it already holds (``held``: the till acknowledges them), starts the
    new segment at the first one it does not hold, linked to an entry it holds, and raises a
    ``till_restored`` alert. Entries of a segment are stored after everything head office
    holds for the till, so nothing is lost or stored twice."""

    epoch: Epoch  # the till's current segment
    next_seq: Seq
    last_hash: Hash
    entries: Annotated[list[EntryRef], Meta(max_length=MAX_BATCH)] = []


class EpochAnswer(Answer):
    epoch: int
    from_seq: int  # the first seq of the segment
    held: list[str] = []  # entry ids head office already holds, same hash: acknowledge them
    lost: int = 0  # entries head office holds that the till no longer has
    # The till's highest receipt number head office holds: the restored till numbers its
    # next receipts after it, so lost sales' numbers are not issued a second time from now on.
    last_receipt_no: str | None = None


# -- pull -------------------------------------------------------------------------------------
class PublicKey(Answer):
    key_id: str
    public_key: str  # raw 32-byte Ed25519 key, base64 (standard alphabet)
    revoked: bool = False


class PhoneKey(Answer):
    """The chain's key for phone hashes (HMAC-SHA256 of the E.164 number), hex. Every page
    carries all of them, oldest first: the last is the one to hash with, the older ones find
    members hashed before a rotation."""

    key_id: str
    key: str


class DenyEntry(Answer):
    code: str  # a member id, card number or app-code id
    reason: str = ""
    active: bool = True


class Alert(Answer):
    """Something head office flagged for a person to look at, e.g. ``velocity``: a member
    redeemed more often in one day (the day of the entries' ``occurred_at``) than the limit;
    ``till_restored``: the till in ``terminal_ids`` came back from a backup and pushes in a new
    chain segment (``limit``: its epoch), ``count`` entries head office holds being ones the
    till lost (``member_id`` empty)."""

    alert_id: int
    kind: str
    member_id: str
    day: str  # YYYY-MM-DD, UTC
    count: int
    limit: int
    terminal_ids: list[str]
    created_at: str
    updated_at: str
    acknowledged_at: str | None = None  # when head office's staff acknowledged it


class AlertsAnswer(Answer):
    alerts: list[Alert]


class ChangesAnswer(Answer):
    """One page of changes. Apply it and store ``cursor`` in one transaction; ask again while
    ``more`` is true."""

    cursor: str
    more: bool
    members: list[MemberState] = []
    erased: list[str] = []
    programs: list[str] = []  # program documents, oldest first
    public_keys: list[PublicKey] = []
    denied: list[DenyEntry] = []
    server_time: str = ""
    phone_keys: list[PhoneKey] = []
    held_decided: list[HeldOutcome] = []  # this till's held entries head office decided
    # Head office reads ``PushRequest.phone_rehashes``: a till sends them only then (one that
    # predates them would refuse the whole push).
    takes_phone_rehashes: bool = False
    offers: list[OfferDefinition] = []  # the definitions of the offers this page's members hold
    takes_purchases: bool = False  # head office reads ``PushRequest.purchases``
    # The newest channel posts of this page's members (sync/protocol_activity.py).
    channel_activity: list[ChannelActivity] = []


class HeldOutcome(Answer):
    """What head office decided about an entry it held from the pulling till."""

    entry_id: str
    decision: Literal["released", "rejected"]


# -- online redemption ------------------------------------------------------------------------
class HoldRequest(Request):
    member_id: Identifier
    points: Annotated[int, Meta(ge=1, le=10**9)]
    ttl_seconds: Annotated[int, Meta(ge=5, le=3600)] = 120


class CaptureRequest(Request):
    receipt_no: Annotated[str, Meta(min_length=1, max_length=64)]


class Hold(Answer):
    hold_id: str
    member_id: str
    points: int
    status: Literal["held", "captured", "released", "settled", "expired"]
    expires_at: str
    available: int = 0  # the member's balance less every active hold, after this one


# -- administration (head office's own tools) ---------------------------------------------------
class TillRequest(Request):
    terminal_id: Identifier
    replace: bool = False  # issue a new token and revoke the old one


class ChannelRequest(Request):
    channel_id: Identifier
    replace: bool = False  # issue a new token and revoke the old one


class ChannelToken(Answer):
    channel_id: str
    token: str


class SuspendRequest(Request):
    reason: Text200 = ""


class TillToken(Answer):
    terminal_id: str
    token: str


class MemberRequest(Request):
    card_number: Annotated[str, Meta(pattern=r"^[0-9]{12,19}\Z")] | None = None
    display_name: Annotated[str, Meta(min_length=1, max_length=80)] = "Member"
    language: Annotated[str, Meta(pattern=r"^[a-z]{2,3}\Z")] = "en"
    phone_hash: Hash | None = None
    birthday: (
        Annotated[str, Meta(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\Z")] | None
    ) = None
    status: Literal["active", "blocked"] = "active"
    # A friend's referral code the member signed up with online, as typed ("k7qm 4xr5"): only
    # with the request that creates the member (sync/headoffice/referrals.py).
    referred_by: Annotated[str, Meta(max_length=20)] | None = None


class ProgramRequest(Request):
    document: Annotated[str, Meta(min_length=1, max_length=1_000_000)]


class ProgramVersion(Answer):
    version: str


class KeyRequest(Request):
    key_id: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}\Z")]
    public_key: Annotated[str, Meta(pattern=r"^[A-Za-z0-9+/]{43}=\Z")]  # 32 bytes, base64


class DenyRequest(Request):
    code: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.:-]{1,128}\Z")]
    reason: Text200 = ""


class AppCode(Answer):
    member_id: str
    code: str


class HeldDecisionRequest(Request):
    """An admin's decision on a held entry after review: ``release`` credits it (once, as
    head office's own entry), ``reject`` credits nothing; both keep who, when and why."""

    decision: Literal["release", "reject"]
    reason: Annotated[str, Meta(min_length=1, max_length=200)]
    decided_by: Annotated[str, Meta(min_length=1, max_length=64)]


class HeldEntry(Answer):
    """An entry head office holds without crediting it, and what was decided about it.
    ``kind`` and ``points`` are read from the entry as pushed (None when it had none)."""

    entry_id: str
    terminal_id: str
    seq: int  # head office's seq (the till's seq plus its chain segment's offset)
    member_id: str
    held_for: str  # invalid_entry, chain_broken, points_beyond_program
    received_at: str
    kind: str | None = None
    points: int | None = None
    decision: Literal["released", "rejected"] | None = None
    reason: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None
    credit_entry_id: str | None = None  # head office's entry that credited it (released)


class HeldAnswer(Answer):
    held: list[HeldEntry]


class Problem(Answer):
    """Every refusal: a stable code and its parameters, never a sentence."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


# -- codecs -----------------------------------------------------------------------------------
_encoder = msgspec.json.Encoder()


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def decoder(kind: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(kind)


def idempotency_key(body: bytes) -> str:
    """The key of a push batch: the hash of its uncompressed body. The entries are hash-chained,
    so the same key always means the same batch, across retries and across a till's restart."""
    return hashlib.sha256(body).hexdigest()[:40]


# -- between the domain and the wire -----------------------------------------------------------
def wire_entry(e: Entry) -> WireEntry:
    return WireEntry(
        entry_id=e.entry_id, terminal_id=e.terminal_id, seq=e.seq, member_id=e.member_id,
        kind=e.kind, points=e.points, amount_minor=e.amount_minor,  # type: ignore[arg-type]
        currency=e.currency, receipt_no=e.receipt_no, reverses=e.reverses,
        reward_id=e.reward_id, program_version=e.program_version, occurred_at=e.occurred_at,
        offline=e.offline, cashier_id=e.cashier_id, reason=e.reason, prev_hash=e.prev_hash,
        hash=e.hash,
    )  # fmt: skip


def wire_entries(rows: list[tuple[Any, ...]]) -> list[WireEntry]:
    """Ledger rows (``loyalty.ledger.select_rows``, ``Entry``'s field order) as they travel:
    ``wire_entry`` of each row's entry, without building the entry."""
    return [WireEntry(*r[:13], bool(r[13]), *r[14:18]) for r in rows]  # type: ignore[call-arg]


def hash_fields(e: WireEntry) -> tuple[object, ...]:
    """The facts an entry's hash covers, in the ledger's order (see loyalty.ledger.append)."""
    return (
        e.entry_id, e.terminal_id, e.seq, e.member_id, e.kind, e.points, e.amount_minor,
        e.currency, e.receipt_no, e.reverses, e.reward_id, e.program_version, e.occurred_at,
        int(e.offline), e.cashier_id, e.reason,
    )  # fmt: skip


def chain_hash(prev_hash: str, e: WireEntry) -> str:
    """``loyalty.ledger.entry_hash`` of an entry, with msgspec's encoder (the same bytes as the
    ledger's ``json.dumps(..., separators=(",", ":"), ensure_ascii=False)`` for these values,
    several times faster). Callers fall back to ``entry_hash`` when this disagrees."""
    return hashlib.sha256(_encoder.encode([prev_hash, *hash_fields(e)])).hexdigest()


def wire_rehash(r: PhoneRehash) -> WirePhoneRehash:
    return WirePhoneRehash(r.member_id, r.old_hash, r.phone_hash, r.key_id)


def wire_enrolment(p: PendingEnrolment) -> WireEnrolment:
    return WireEnrolment(
        member_id=p.member_id, card_number=p.card_number, display_name=p.display_name,
        language=p.language, phone_hash=p.phone_hash, birthday=p.birthday,
        consent_at=p.consent_at, consent_version=p.consent_version, enrolled_at=p.enrolled_at,
        terminal_id=p.terminal_id, cashier_id=p.cashier_id, referral_code=p.referral_code,
        referred_by=p.referred_by,
    )  # fmt: skip


def snapshot(m: MemberState) -> MemberSnapshot:
    return MemberSnapshot(
        member_id=m.member_id, snapshot_at=m.snapshot_at, card_number=m.card_number,
        display_name=m.display_name, language=m.language, status=m.status, balance=m.balance,
        pending=tuple(m.pending), tier_id=m.tier_id,
        tier_progress=m.tier_progress, expiring_points=m.expiring_points,
        expiring_at=m.expiring_at, has_purchased=m.has_purchased, birthday=m.birthday,
        phone_hash=m.phone_hash, merged_into=m.merged_into, once_paid=tuple(m.once_paid),
        tier_days=tuple(m.tier_days), offers=tuple(m.offers), referral_code=m.referral_code,
    )  # fmt: skip


def parse_time(text: str) -> dt.datetime | None:
    try:
        return from_text(text) if text else None
    except ValueError:
        return None


def now_text(now: dt.datetime | None = None) -> str:
    return to_text(now or dt.datetime.now(dt.UTC))


def change_page(a: ChangesAnswer, members: Sequence[MemberSnapshot]) -> ChangePage:
    """A page of changes as the till applies it (``members``: its members, already checked)."""
    keys, revoked = [], []
    for k in a.public_keys:
        try:
            raw = base64.b64decode(k.public_key, validate=True)
        except ValueError:
            continue
        if k.revoked:
            revoked.append(k.key_id)
        elif len(raw) == 32:
            keys.append((k.key_id, raw))
    return ChangePage(
        cursor=a.cursor,
        members=tuple(members),
        erased=tuple(a.erased),
        programs=tuple(a.programs),
        public_keys=tuple(keys),
        revoked_keys=tuple(revoked),
        denied=tuple((d.code, d.reason) for d in a.denied if d.active),
        undenied=tuple(d.code for d in a.denied if not d.active),
        server_time=parse_time(a.server_time),
        complete=not a.more,
        phone_keys=tuple((k.key_id, k.key) for k in a.phone_keys),
        held_decided=tuple((h.entry_id, h.decision) for h in a.held_decided),
        takes_phone_rehashes=a.takes_phone_rehashes,
        offers=tuple(msgspec.structs.asdict(o) for o in a.offers),
        takes_purchases=a.takes_purchases,
        channel_activity=tuple(msgspec.structs.asdict(x) for x in a.channel_activity),
    )
