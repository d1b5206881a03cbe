"""Head office's loyalty service over a Store: tills and their tokens, the exactly-once ledger,
authoritative accounts, and what head office publishes (programs, public keys, the deny-list).
The change feed (feed.py), holds for online redemption (holds.py) and the folding of a
push's accounts (folding.py) are mixed in.
No HTTP here: app.py maps it to routes.

Every refusal is an ``ApiProblem`` with an HTTP status, a stable code and parameters.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import hashlib
import hmac
import json
import logging
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec

from loyalty.db import to_text, utc_now
from loyalty.errors import BadInput, ProgramError
from loyalty.program import Program, parse_program
from loyalty.referrals import check_code
from sync import protocol as p
from sync import protocol_referrals as pr
from sync.headoffice import epochs, referrals
from sync.headoffice.admission import Admission, inflate
from sync.headoffice.batch import BatchStore
from sync.headoffice.feed import ChangeFeed
from sync.headoffice.folding import AccountFolding
from sync.headoffice.holds import Holds
from sync.headoffice.merges import with_merges
from sync.headoffice.offers import with_offers
from sync.headoffice.once import with_once_paid
from sync.headoffice.reports import summaries
from sync.headoffice.review import HeldReview
from sync.headoffice.roles import ADMIN, CHANNEL, CHANNEL_PREFIX, TILL
from sync.headoffice.rows import (
    _MEMBER_COLUMNS,
    ApiProblem,
    _member_state,
)
from sync.headoffice.store import Tx, is_contention
from sync.headoffice.tier_days import with_tier_days
from sync.headoffice.velocity import VELOCITY_LIMIT, VelocityAlerts
from sync.protocol_offers import WirePurchase

MintCode = Callable[[str], str]
# Pushes storing at once in one head office process (the others wait their turn before their
# transaction starts; decoding runs outside). Pushes of a chain's night share members, whose
# row locks they hold to commit, and each is CPU-heavy on both sides: on 2 cores with two
# processes, bench/chain.py ingested 17,500 entries/s with 1 or 2 at a time per process,
# 15,600 with 4 and 14,500 with 8 (all the database connections). Other requests (pulls,
# online holds) keep their own connections and never queue behind a night of pushes.
PUSH_CONCURRENCY = 2
# A push that PostgreSQL chose to end to break a deadlock (accounts changed by another push
# while this one folded them are locked out of member order, see folding) runs again at once.
PUSH_ATTEMPTS = 3


log = logging.getLogger("sync.headoffice")


def _decode(decoder: msgspec.json.Decoder[Any], body: bytes) -> Any:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ApiProblem(422, "invalid_body", detail=str(exc)[:300]) from None
    except (msgspec.DecodeError, UnicodeDecodeError):  # msgspec: invalid UTF-8 in a string
        raise ApiProblem(400, "malformed_json") from None


def decode_request(kind: type[Any], body: bytes) -> Any:
    return _decode(msgspec.json.Decoder(kind), body)


def _gzipped(answer: bytes) -> bytes:
    """A stored answer as gzip: older head offices stored the JSON itself."""
    return answer if answer[:2] == b"\x1f\x8b" else gzip.compress(answer, 1, mtime=0)


def _referral_code(text: str | None) -> str | None:
    try:
        return check_code(text) if text else None
    except BadInput:
        raise ApiProblem(422, "referral_code_mistyped") from None


def _refuse_suspended(tx: Tx, terminal_id: str) -> None:
    if tx.one("SELECT 1 FROM till_suspensions WHERE terminal_id = ?", (terminal_id,)):
        raise ApiProblem(403, "till_suspended", terminal_id=terminal_id)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


_push_decoder = msgspec.json.Decoder(p.PushRequest)
_loose_decoder = msgspec.json.Decoder(p.LoosePushRequest)
_entry_decoder = msgspec.json.Decoder(p.WireEntry)
_head_decoder = msgspec.json.Decoder(p.EntryHead)
_UNREADABLE = (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError)
HELD_BODY_CHARS = 4000  # of an entry held for breaking the protocol's rules, kept as evidence


def decode_push(body: bytes) -> tuple[p.PushRequest, dict[int, tuple[str, str]]]:
    """A push, and the entries in it to hold rather than store, by seq (reason, the entry as
    pushed). An entry that breaks the protocol's rules (points beyond its bound, a reason too
    long, ...) but still says where it sits in its till's chain is held in its place
    (``invalid_entry``), so it never blocks the rest of the till's outbox; anything else wrong
    refuses the push as before."""
    try:
        return _push_decoder.decode(body), {}
    except msgspec.ValidationError as exc:
        problem = ApiProblem(422, "invalid_body", detail=str(exc)[:300])
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise ApiProblem(400, "malformed_json") from None
    try:
        loose: p.LoosePushRequest = _loose_decoder.decode(body)
    except _UNREADABLE:
        raise problem from None
    entries: list[p.WireEntry] = []
    held: dict[int, tuple[str, str]] = {}
    for raw in loose.entries:
        try:
            entries.append(_entry_decoder.decode(raw))
            continue
        except _UNREADABLE:
            pass
        try:
            head: p.EntryHead = _head_decoder.decode(raw)
        except _UNREADABLE:
            raise problem from None
        text = bytes(raw).decode("utf-8", "replace")[:HELD_BODY_CHARS]
        held[head.seq] = ("invalid_entry", text)
        entries.append(
            p.WireEntry(
                head.entry_id,
                head.terminal_id,
                head.seq,
                head.member_id[:64],
                "adjust",
                0,
                0,
                "XXX",
                None,
                None,
                None,
                "",
                "",
                False,
                "",
                "",
                head.prev_hash,
                head.hash,
            )  # fmt: skip
        )
    if not held:
        raise problem
    request = p.PushRequest(
        loose.terminal_id, entries, loose.enrolments, loose.epoch, loose.phone_rehashes,
        _purchases(loose.purchases),
    )  # fmt: skip
    return request, held


_purchase_decoder = msgspec.json.Decoder(WirePurchase)


def _purchases(raws: list[msgspec.Raw]) -> list[WirePurchase]:
    """The purchases of a push read one by one: one that breaks the rules is left out (they
    only feed segments, sync/headoffice/segments.py), the entries are stored."""
    out = []
    for raw in raws:
        try:
            out.append(_purchase_decoder.decode(raw))
        except _UNREADABLE:
            continue
    return out


_epoch_decoder = msgspec.json.Decoder(p.EpochRequest)


class HeadOffice(ChangeFeed, Holds, AccountFolding, VelocityAlerts, BatchStore, HeldReview):
    def __init__(
        self,
        store: Any,
        admin_token: str | None = None,
        mint_code: MintCode | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        velocity_limit: int = VELOCITY_LIMIT,
        push_concurrency: int = PUSH_CONCURRENCY,
    ) -> None:
        self.store = store
        self._push_slots = threading.BoundedSemaphore(max(1, push_concurrency))
        self.push_admission = Admission(2 * max(1, push_concurrency))
        self.velocity_limit = velocity_limit
        self.admin_token = admin_token
        self.mint_code = mint_code
        self.clock = clock
        self._program: Program | None = None
        self._program_lock = threading.Lock()

    # -- auth --------------------------------------------------------------------------------
    def register_till(self, terminal_id: str, replace: bool = False) -> str:
        """A new till token (shown once; head office keeps only its hash)."""
        secret = secrets.token_urlsafe(32)
        token = f"{terminal_id}.{secret}"
        now = to_text(self.clock())
        with self.store.transaction() as tx:
            inserted = tx.run(
                "INSERT INTO tills (terminal_id, token_hash, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (terminal_id, _hash(secret), now),
            )
            if not inserted:
                if not replace:
                    raise ApiProblem(409, "till_exists", terminal_id=terminal_id)
                tx.run(
                    "UPDATE tills SET token_hash = ?, revoked = 0 WHERE terminal_id = ?",
                    (_hash(secret), terminal_id),
                )
        return token

    def revoke_till(self, terminal_id: str) -> None:
        with self.store.transaction() as tx:
            if not tx.run("UPDATE tills SET revoked = 1 WHERE terminal_id = ?", (terminal_id,)):
                raise ApiProblem(404, "unknown_till", terminal_id=terminal_id)

    def suspend_till(self, terminal_id: str, reason: str, suspended: bool = True) -> None:
        """A till under investigation: its pushes are refused (403 ``till_suspended``) until it
        is resumed; nothing it sent is lost (its outbox waits)."""
        stamp = to_text(self.clock())
        with self.store.transaction() as tx:
            if tx.one("SELECT 1 FROM tills WHERE terminal_id = ?", (terminal_id,)) is None:
                raise ApiProblem(404, "unknown_till", terminal_id=terminal_id)
            tx.lock_till(terminal_id)
            if suspended:
                tx.run(
                    "INSERT INTO till_suspensions (terminal_id, reason, suspended_at) "
                    "VALUES (?, ?, ?) ON CONFLICT (terminal_id) DO UPDATE SET "
                    "reason = excluded.reason",
                    (terminal_id, reason, stamp),
                )
            else:
                tx.run("DELETE FROM till_suspensions WHERE terminal_id = ?", (terminal_id,))

    def till_for(self, token: str) -> str:
        terminal_id, _, secret = token.partition(".")
        if not secret or len(token) > 200:
            raise ApiProblem(401, "unauthorised")
        with self.store.transaction() as tx:
            row = tx.one(
                "SELECT token_hash, revoked FROM tills WHERE terminal_id = ?", (terminal_id,)
            )
        if row is None or not hmac.compare_digest(row[0], _hash(secret)):
            raise ApiProblem(401, "unauthorised")
        if row[1]:
            raise ApiProblem(403, "till_revoked", terminal_id=terminal_id)
        return terminal_id

    def register_channel(self, channel_id: str, replace: bool = False) -> str:
        """A new channel token (``channel:<id>.<secret>``, shown once; head office keeps only
        its hash). A channel reads members' states and posts its own entries (channels.py)."""
        secret = secrets.token_urlsafe(32)
        now = to_text(self.clock())
        with self.store.transaction() as tx:
            inserted = tx.run(
                "INSERT INTO channels (channel_id, token_hash, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (channel_id, _hash(secret), now),
            )
            if not inserted:
                if not replace:
                    raise ApiProblem(409, "channel_exists", channel_id=channel_id)
                tx.run(
                    "UPDATE channels SET token_hash = ?, revoked = 0 WHERE channel_id = ?",
                    (_hash(secret), channel_id),
                )
        return f"{CHANNEL_PREFIX}{channel_id}.{secret}"

    def revoke_channel(self, channel_id: str) -> None:
        """A channel's token stops working at once (403 ``channel_revoked``); what it posted
        stays in the ledger."""
        with self.store.transaction() as tx:
            if not tx.run("UPDATE channels SET revoked = 1 WHERE channel_id = ?", (channel_id,)):
                raise ApiProblem(404, "unknown_channel", channel_id=channel_id)

    def principal(self, token: str) -> tuple[str, str]:
        """(role, who) of a bearer token: ("admin", ""), ("till", terminal id) or ("channel",
        channel id). Raises 401 ``unauthorised`` for a token head office does not know."""
        if self.is_admin(token):
            return ADMIN, ""
        if not token.startswith(CHANNEL_PREFIX):
            return TILL, self.till_for(token)
        channel_id, _, secret = token[len(CHANNEL_PREFIX) :].partition(".")
        if not secret or len(token) > 200:
            raise ApiProblem(401, "unauthorised")
        with self.store.transaction() as tx:
            row = tx.one(
                "SELECT token_hash, revoked FROM channels WHERE channel_id = ?", (channel_id,)
            )
        if row is None or not hmac.compare_digest(row[0], _hash(secret)):
            raise ApiProblem(401, "unauthorised")
        if row[1]:
            raise ApiProblem(403, "channel_revoked", channel_id=channel_id)
        return CHANNEL, channel_id

    def is_admin(self, token: str) -> bool:
        return bool(self.admin_token) and hmac.compare_digest(
            token.encode(), (self.admin_token or "").encode()
        )

    # -- the program ---------------------------------------------------------------------------
    def program(self, tx: Tx) -> Program | None:
        row = tx.one("SELECT value FROM settings WHERE key = 'program_version'")
        if row is None:
            return None
        with self._program_lock:
            if self._program is None or self._program.version != row[0]:
                doc = tx.one("SELECT document FROM programs WHERE version = ?", (row[0],))
                self._program = parse_program(doc[0], f"head office program {row[0]}")  # type: ignore[index]
            return self._program

    def publish_program(self, document: str) -> str:
        try:
            program = parse_program(document, "published program")
        except ProgramError as exc:
            raise ApiProblem(422, "program_invalid", field=exc.field, problem=exc.problem) from None
        with self.store.transaction() as tx:
            tx.run(
                "INSERT INTO programs (version, document, published_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (program.version, document, to_text(self.clock())),
            )
            stored = tx.one("SELECT document FROM programs WHERE version = ?", (program.version,))
            if stored is None or stored[0] != document:
                raise ApiProblem(409, "program_version_reused", version=program.version)
            current = tx.one("SELECT value FROM settings WHERE key = 'program_version'")
            if current is None or current[0] != program.version:
                tx.run(
                    "INSERT INTO settings (key, value) VALUES ('program_version', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (program.version,),
                )
                self._changed(tx, [("program", program.version)])
                # Reports count shop days in the program's time zone: a new zone, new days.
                summaries.ensure(tx, str(program.timezone))
        return program.version

    # -- push ----------------------------------------------------------------------------------
    def push(self, terminal_id: str, body: bytes, idem_key: str | None) -> bytes:
        """Store a batch exactly once and answer with what head office now holds (JSON)."""
        return gzip.decompress(self.push_gzip(terminal_id, body, idem_key))

    def push_sent(self, terminal_id: str, raw: bytes, encoding: str, idem_key: str | None) -> bytes:
        """``push_gzip`` of a body as sent: inflated and decoded only once admitted, so a
        process holds a bounded number of pushes in memory however many tills wait."""
        with self.push_admission:
            return self.push_gzip(terminal_id, inflate(raw, encoding), idem_key)

    def push_gzip(self, terminal_id: str, body: bytes, idem_key: str | None) -> bytes:
        """``push``, its answer gzip-compressed: what is kept for replays and what the app
        sends a till that accepts gzip, so the answer is compressed once, when it is made. A
        replay of the same key and body gets the stored answer; the same key with another
        body is refused."""
        req, held = decode_push(body)
        if req.terminal_id != terminal_id or any(e.terminal_id != terminal_id for e in req.entries):
            raise ApiProblem(403, "wrong_terminal", terminal_id=terminal_id)
        if any(e.terminal_id != terminal_id for e in req.enrolments):
            raise ApiProblem(403, "wrong_terminal", terminal_id=terminal_id)
        seqs = [e.seq for e in req.entries]
        if seqs != list(range(seqs[0], seqs[0] + len(seqs))) if seqs else False:
            raise ApiProblem(422, "batch_not_contiguous")
        body_hash = hashlib.sha256(body).hexdigest()
        with self._push_slots:
            for attempt in range(1, PUSH_ATTEMPTS + 1):
                try:
                    return self._push_once(terminal_id, req, body_hash, idem_key, held)
                except Exception as exc:
                    # (SQLite's "locked" came after its 10-s busy wait: answer at once.)
                    again = is_contention(exc) and self.store.dialect != "sqlite"
                    if attempt == PUSH_ATTEMPTS or not again:
                        raise  # the app answers 503 with Retry-After for contention
                    log.info("push from %s ran into %s; again", terminal_id, type(exc).__name__)
        raise AssertionError("unreachable")

    def _push_once(
        self,
        terminal_id: str,
        req: p.PushRequest,
        body_hash: str,
        idem_key: str | None,
        held: Mapping[int, tuple[str, str]],
    ) -> bytes:
        with self.store.transaction() as tx:
            now = self.clock()
            stamp = to_text(now)
            tx.lock_till(terminal_id)
            _refuse_suspended(tx, terminal_id)
            if idem_key:
                row = tx.one(
                    "SELECT body_hash, answer FROM push_requests "
                    "WHERE terminal_id = ? AND idem_key = ?",
                    (terminal_id, idem_key),
                )
                if row is not None:
                    if row[0] != body_hash:
                        raise ApiProblem(422, "idempotency_key_reused", key=idem_key)
                    return _gzipped(bytes(row[1]))
            answer, touched = self._store_batch(tx, terminal_id, req, now, stamp, held)
            # Level 1: a batch's answer (per-entry results and member states) is repetitive
            # JSON that shrinks about tenfold even so, in a few milliseconds.
            data = gzip.compress(p.encode(answer), 1, mtime=0)
            if idem_key:
                tx.run(
                    "INSERT INTO push_requests (terminal_id, idem_key, body_hash, answer, "
                    "created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (terminal_id, idem_key, body_hash, data, stamp),
                )
            if touched:
                # Last: recording a change waits for other writers of changes to commit.
                # One change row for the whole batch; the feed expands it. The pushing till
                # got the states in this answer, so its own pulls skip them.
                self._changed(tx, [("members", json.dumps(touched))], terminal_id)
        return data

    def new_epoch(self, terminal_id: str, body: bytes) -> p.EpochAnswer:
        """A new chain segment for a till restored from a backup (see epochs.py)."""
        req: p.EpochRequest = _decode(_epoch_decoder, body)
        with self._push_slots, self.store.transaction() as tx:
            tx.lock_till(terminal_id)
            _refuse_suspended(tx, terminal_id)
            answer = epochs.open_epoch(tx, terminal_id, req, to_text(self.clock()))
        if answer.epoch != req.epoch:
            log.warning(
                "till %s restored from a backup: segment %d from seq %d, %d entries it lacks",
                terminal_id, answer.epoch, answer.from_seq, answer.lost,
            )  # fmt: skip
        return answer

    def _members(self, tx: Tx, ids: Sequence[str]) -> list[p.MemberState]:
        out: list[p.MemberState] = []
        for where, params in tx.matching("member_id", ids):
            rows = tx.all(
                f"SELECT {_MEMBER_COLUMNS} FROM members WHERE {where} AND erased = 0 "
                "ORDER BY member_id",
                params,
            )
            out.extend(_member_state(r) for r in rows)
        out = with_once_paid(tx, with_merges(tx, out))
        out = with_tier_days(tx, self.program(tx), out, self.clock())
        return referrals.with_codes(tx, with_offers(tx, self.program(tx), out, self.clock()))

    def _changed(
        self, tx: Tx, changes: Sequence[tuple[str, str]], origin: str | None = None
    ) -> None:
        """Record changes for the feed. ``origin``: the till whose push made them; it got the
        members' states in its answer, so its own pulls skip them."""
        if changes:
            tx.lock_changes()
            tx.many(
                "INSERT INTO changes (kind, ref, origin) VALUES (?, ?, ?)",
                [(kind, ref, origin) for kind, ref in changes],
            )

    # -- members, keys, deny-list (head office's own tools) ---------------------------------------
    def upsert_member(self, member_id: str, req: p.MemberRequest) -> p.MemberState:
        stamp = to_text(self.clock())
        with self.store.transaction() as tx:
            erased = tx.one("SELECT erased FROM members WHERE member_id = ?", (member_id,))
            if erased is not None and erased[0]:
                raise ApiProblem(409, "member_erased", member=member_id)
            referred_by = _referral_code(req.referred_by)
            if req.card_number is not None:
                other = tx.one(
                    "SELECT member_id FROM members WHERE card_number = ? AND member_id <> ?",
                    (req.card_number, member_id),
                )
                if other is not None:
                    raise ApiProblem(409, "card_number_taken", card_number=req.card_number)
            tx.run(
                "INSERT INTO members (member_id, card_number, display_name, language, "
                "phone_hash, birthday, status, snapshot_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (member_id) DO UPDATE SET card_number = excluded.card_number, "
                "display_name = excluded.display_name, language = excluded.language, "
                "phone_hash = excluded.phone_hash, birthday = excluded.birthday, "
                "status = excluded.status, snapshot_at = excluded.snapshot_at",
                (
                    member_id,
                    req.card_number,
                    req.display_name,
                    req.language,
                    req.phone_hash,
                    req.birthday,
                    req.status,
                    stamp,
                ),  # fmt: skip
            )
            if referred_by:
                referrals.record(tx, member_id, referred_by, "admin", stamp, new=erased is None)
            self._changed(tx, [("member", member_id)])
            return self._members(tx, [member_id])[0]

    def referrals(self, status: str | None = None, limit: int = 500) -> pr.ReferralsAnswer:
        with self.store.transaction() as tx:
            return referrals.answer(tx, status, limit)

    def member(self, member_id: str) -> p.MemberState:
        with self.store.transaction() as tx:
            found = self._members(tx, [member_id])
        if not found:
            raise ApiProblem(404, "unknown_member", member=member_id)
        return found[0]

    def erase_member(self, member_id: str) -> None:
        """Erase personal data; the ledger keeps the pseudonymous id and the points."""
        stamp = to_text(self.clock())
        with self.store.transaction() as tx:
            done = tx.run(
                "UPDATE members SET erased = 1, card_number = NULL, display_name = '', "
                "phone_hash = NULL, birthday = NULL, snapshot_at = ? WHERE member_id = ?",
                (stamp, member_id),
            )
            if not done:
                raise ApiProblem(404, "unknown_member", member=member_id)
            self._changed(tx, [("member", member_id)])

    def add_key(self, key_id: str, public_key_b64: str) -> None:
        try:
            raw = base64.b64decode(public_key_b64, validate=True)
        except (binascii.Error, ValueError):
            raise ApiProblem(422, "malformed_public_key") from None
        if len(raw) != 32:
            raise ApiProblem(422, "malformed_public_key")
        with self.store.transaction() as tx:
            tx.run(
                "INSERT INTO public_keys (key_id, public_key, revoked) VALUES (?, ?, 0) "
                "ON CONFLICT (key_id) DO UPDATE SET public_key = excluded.public_key, revoked = 0",
                (key_id, raw),
            )
            self._changed(tx, [("key", key_id)])

    def revoke_key(self, key_id: str) -> None:
        with self.store.transaction() as tx:
            if not tx.run("UPDATE public_keys SET revoked = 1 WHERE key_id = ?", (key_id,)):
                raise ApiProblem(404, "unknown_key", key_id=key_id)
            self._changed(tx, [("key", key_id)])

    def deny(self, code: str, reason: str, active: bool = True) -> None:
        with self.store.transaction() as tx:
            tx.run(
                "INSERT INTO deny_list (code, reason, active) VALUES (?, ?, ?) "
                "ON CONFLICT (code) DO UPDATE SET reason = excluded.reason, "
                "active = excluded.active",
                (code, reason, int(active)),
            )
            self._changed(tx, [("deny", code)])

    def app_code(self, member_id: str) -> str:
        if self.mint_code is None:
            raise ApiProblem(501, "app_codes_not_configured")
        state = self.member(member_id)
        if state.status == "blocked":
            raise ApiProblem(409, "member_blocked", member=member_id)
        return self.mint_code(member_id)

    def entry_count(self) -> int:
        with self.store.transaction() as tx:
            row = tx.one("SELECT COUNT(*) FROM entries")
        return int(row[0]) if row else 0
