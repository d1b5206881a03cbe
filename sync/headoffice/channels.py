"""Channels post entries exactly once: the web shop's and the app's purchases, refunds,
redemptions and engagement events, stored as ledger entries of the channel's own (terminal id
``@channel:<channel id>``: never a till's, which has no ``@``, nor head office's own), with
their own gap-free ``seq`` and hash chain, folded into the member's account and recorded in the
change feed, so every till's next pull brings the new balance.

Exactly once, twice over:

- **The channel's idempotency key** (``Idempotency-Key``): the key's row in
  ``channel_requests`` is the first thing a post writes. A retry with the same key and body
  gets the first answer and stores nothing; the same key with another body is refused (409
  ``idempotency_key_reused``). Two posts with one key at once: the second waits on the key's
  row (PostgreSQL's unique index) and then reads the first's answer. A refused post stores
  nothing, its key included, so it can be sent again once the cause is gone.
- **The channel's own id of the fact** (order, refund, redemption or event id) in
  ``channel_facts``: the same order under a new key is refused (409 ``duplicate_order``,
  ``duplicate_event``, ...), and the entries' ids are derived from it (``uuid5``), so the
  entries' unique constraint would refuse a second copy in any case.

A post locks its member's row before it reads the account (so a redemption cannot overdraw and
an engagement cap holds with two posts at once), then its channel's entry counter, then the
change feed: the order a push takes its locks in (members, a counter, the feed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loyalty.db import to_text
from loyalty.ledger import GENESIS, entry_hash
from loyalty.program import Program
from sync import channel_protocol as cp
from sync import protocol as p
from sync.headoffice import own_entries, referrals
from sync.headoffice.accounts import StoredEntry
from sync.headoffice.reports import summaries
from sync.headoffice.rows import ApiProblem
from sync.headoffice.store import Tx, is_contention
from sync.protocol_activity import PER_MEMBER, ChannelActivity

if TYPE_CHECKING:
    from sync.headoffice.service import HeadOffice

log = logging.getLogger("sync.headoffice.channels")

PREFIX = "@channel:"
ATTEMPTS = 3
_NAMESPACE = uuid.UUID("0b5c7a52-6d1e-5f0a-8c3e-c4a22e15c0de")
_COLUMNS = (
    "entry_id", "terminal_id", "seq", "member_id", "kind", "points", "amount_minor", "currency",
    "receipt_no", "reverses", "reward_id", "program_version", "occurred_at", "offline",
    "cashier_id", "reason", "prev_hash", "hash", "received_at", "chain_ok",
)  # fmt: skip


def terminal_of(channel_id: str) -> str:
    """The terminal id a channel's entries are stored under."""
    return f"{PREFIX}{channel_id}"


def channel_of(terminal_id: str) -> str | None:
    """The channel an entry's terminal id names, or None for a till's or head office's."""
    return terminal_id[len(PREFIX) :] if terminal_id.startswith(PREFIX) else None


@dataclass(frozen=True, slots=True)
class Planned:
    """An entry a post means to store; ``key`` names it within the post's fact."""

    key: str
    kind: str
    points: int
    reason: str
    amount_minor: int = 0
    reverses: str | None = None
    reward_id: str | None = None


@dataclass(frozen=True, slots=True)
class Post:
    """What a kind of post settled before its entries are stored: the member, the channel's
    fact (``order:<id>``, ...), the receipt number its entries carry, when it happened."""

    member_id: str
    fact: str
    ref: str
    receipt_no: str | None
    occurred_at: str
    entries: list[Planned]
    total_minor: int = 0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Context:
    """What a planner is given: the transaction, the program, the channel and the time."""

    ho: HeadOffice
    tx: Tx
    program: Program
    channel_id: str
    now: dt.datetime
    stamp: str

    @property
    def terminal_id(self) -> str:
        return terminal_of(self.channel_id)

    def entry_id(self, fact: str, key: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.terminal_id}\n{fact}\n{key}"))

    def when(self, occurred_at: str | None) -> str:
        """The fact's time: the channel's, never later than head office's clock."""
        return min(occurred_at, self.stamp) if occurred_at else self.stamp


Planner = Callable[[Context, Any], Post]


def post(
    ho: HeadOffice,
    channel_id: str,
    kind: str,
    request_type: type[Any],
    planner: Planner,
    body: bytes,
    idem_key: str,
) -> bytes:
    """Store a channel's post exactly once and answer (JSON ``ChannelAnswer``); a retry with
    the same key and body gets the stored answer."""
    from sync.headoffice.service import decode_request  # service imports app-free modules only

    req = decode_request(request_type, body)
    body_hash = hashlib.sha256(kind.encode() + b"\n" + body).hexdigest()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _post_once(ho, channel_id, kind, req, planner, body_hash, idem_key)
        except Exception as exc:
            if attempt == ATTEMPTS or not is_contention(exc) or ho.store.dialect == "sqlite":
                raise
            log.info("%s post from %s ran into %s; again", kind, channel_id, type(exc).__name__)
    raise AssertionError("unreachable")


def _post_once(
    ho: HeadOffice,
    channel_id: str,
    kind: str,
    req: Any,
    planner: Planner,
    body_hash: str,
    idem_key: str,
) -> bytes:
    with ho.store.transaction() as tx:
        now = ho.clock()
        stamp = to_text(now)
        inserted = tx.run(
            "INSERT INTO channel_requests (channel_id, idem_key, body_hash, answer, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (channel_id, idem_key, body_hash, b"", stamp),
        )
        if not inserted:
            row = tx.one(
                "SELECT body_hash, answer FROM channel_requests WHERE channel_id = ? "
                "AND idem_key = ?",
                (channel_id, idem_key),
            )
            assert row is not None
            if row[0] != body_hash:
                raise ApiProblem(409, "idempotency_key_reused", key=idem_key)
            return bytes(row[1])
        revoked = tx.one("SELECT revoked FROM channels WHERE channel_id = ?", (channel_id,))
        if revoked is None or revoked[0]:
            raise ApiProblem(403, "channel_revoked", channel_id=channel_id)
        program = ho.program(tx)
        if program is None:
            raise ApiProblem(409, "no_program")
        ctx = Context(ho, tx, program, channel_id, now, stamp)
        planned = planner(ctx, req)
        answer = _store(ctx, kind, planned)
        data = p.encode(answer)
        tx.run(
            "UPDATE channel_requests SET answer = ? WHERE channel_id = ? AND idem_key = ?",
            (data, channel_id, idem_key),
        )
    return data


def claim_fact(ctx: Context, fact: str, member_id: str, total_minor: int, detail: str) -> None:
    """Record the channel's id of a fact, once: the same order (refund, event ...) posted
    again under another key is refused (409 ``duplicate_<kind>``)."""
    inserted = ctx.tx.run(
        "INSERT INTO channel_facts (channel_id, fact, member_id, total_minor, refunded_minor, "
        "detail, created_at) VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT DO NOTHING",
        (ctx.channel_id, fact, member_id, total_minor, detail, ctx.stamp),
    )
    if not inserted:
        raise _duplicate(fact, ctx.channel_id)


def _duplicate(fact: str, channel_id: str) -> ApiProblem:
    what, _, ref = fact.partition(":")
    if what == "order":
        return ApiProblem(409, "duplicate_order", ref=ref, channel_id=channel_id)
    if what == "refund":
        return ApiProblem(409, "duplicate_refund", ref=ref, channel_id=channel_id)
    if what == "redemption":
        return ApiProblem(409, "duplicate_redemption", ref=ref, channel_id=channel_id)
    return ApiProblem(409, "duplicate_event", ref=ref, channel_id=channel_id)


def member_row(ctx: Context, member_id: str) -> tuple[str, Sequence[Any]]:
    """The member a post is for (the member kept, when merged), its row locked: (member id,
    ``status, tier_id, birthday, has_purchased, balance, enrolled_at``). Unknown or erased:
    404 ``unknown_member``."""
    tx = ctx.tx
    merged = tx.one("SELECT into_id FROM merges WHERE dup_id = ?", (member_id,))
    if merged is not None:
        member_id = merged[0]
    tx.lock_members([member_id])
    row = tx.one(
        "SELECT status, tier_id, birthday, has_purchased, balance, enrolled_at, erased "
        "FROM members WHERE member_id = ?",
        (member_id,),
    )
    if row is None or row[6]:
        raise ApiProblem(404, "unknown_member", member=member_id)
    return member_id, row


def _store(ctx: Context, kind: str, post: Post) -> cp.ChannelAnswer:
    """The post's entries in the channel's chain, folded into the member's account, recorded
    in the change feed: the answer."""
    tx, ho = ctx.tx, ctx.ho
    entries = [(ctx.entry_id(post.fact, e.key), e) for e in post.entries]
    folded = [
        StoredEntry(eid, e.kind, e.points, e.amount_minor, e.reverses, e.reason,
                    post.occurred_at, ctx.stamp)
        for eid, e in entries
    ]  # fmt: skip
    if entries:
        new, touched = {post.member_id: folded}, {post.member_id}
        # A web shop order can be a new member's first qualifying purchase, a refund can undo it.
        own = referrals.for_post(tx, ctx.program, post.member_id, entries, post.occurred_at,
                                 ctx.terminal_id, ctx.stamp, new, touched)  # fmt: skip
        ho._recompute(tx, touched, ctx.now, new)
        _number(ctx, post, entries)
        tx.run(
            "INSERT INTO channel_activity (channel_id, kind, ref, member_id, points, amount_minor, "
            "action, occurred_at, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ctx.channel_id, kind, post.ref, post.member_id, sum(e.points for _, e in entries),
             post.total_minor, post.detail if kind == "event" else None,
             post.occurred_at, ctx.stamp),
        )  # fmt: skip
        own_entries.number(tx, own, currency=ctx.program.currency,
                           program_version=ctx.program.version, stamp=ctx.stamp)  # fmt: skip
        ho._changed(tx, [("members", json.dumps(sorted(touched)))])
    states = ho._members(tx, [post.member_id])
    return cp.ChannelAnswer(
        channel_id=ctx.channel_id, kind=kind, ref=post.ref,  # type: ignore[arg-type]
        member_id=post.member_id, points=sum(e.points for _, e in entries),
        entries=[cp.ChannelEntry(eid, e.kind, e.points, e.reason, e.amount_minor)
                 for eid, e in entries],
        member=states[0] if states else p.MemberState(post.member_id, ctx.stamp),
    )  # fmt: skip


def _number(ctx: Context, post: Post, entries: Sequence[tuple[str, Planned]]) -> None:
    """Store the entries in the channel's chain: its counter locked to the commit, each entry
    its seq and its place in the hash chain."""
    tx, terminal = ctx.tx, ctx.terminal_id
    row = tx.one(
        "INSERT INTO ledger_seq (terminal_id, seq) VALUES (?, 0) ON CONFLICT (terminal_id) "
        "DO UPDATE SET seq = ledger_seq.seq RETURNING seq",
        (terminal,),
    )
    assert row is not None
    seq = int(row[0])
    last = tx.one("SELECT hash FROM entries WHERE terminal_id = ? AND seq = ?", (terminal, seq))
    prev = last[0] if last else GENESIS
    rows: list[tuple[object, ...]] = []
    for eid, e in entries:
        seq += 1
        fields = (
            eid, terminal, seq, post.member_id, e.kind, e.points, e.amount_minor,
            ctx.program.currency, post.receipt_no, e.reverses, e.reward_id, ctx.program.version,
            post.occurred_at, 0, ctx.channel_id, e.reason,
        )  # fmt: skip
        digest = entry_hash(prev, fields)
        rows.append((*fields, prev, digest, ctx.stamp, 1))
        prev = digest
    if tx.insert_new("entries", _COLUMNS, rows) != len(rows):
        raise RuntimeError("a channel's entry: a unique constraint refused one")
    summaries.stored(tx, rows)  # the KPIs' summaries, in the same transaction
    tx.run("UPDATE ledger_seq SET seq = ? WHERE terminal_id = ?", (seq, terminal))


def recent_activity(tx: Tx, member_ids: Sequence[str]) -> list[ChannelActivity]:
    """The newest channel posts of each of the members (``PER_MEMBER``), for the pull."""
    out: list[ChannelActivity] = []
    for where, params in tx.matching("member_id", sorted(set(member_ids))):
        rows = tx.all(
            "SELECT member_id, channel_id, kind, ref, points, amount_minor, occurred_at, action "
            f"FROM channel_activity WHERE {where} ORDER BY member_id, occurred_at DESC, ref",
            params,
        )
        taken: dict[str, int] = {}
        for r in rows:
            if taken.setdefault(r[0], 0) < PER_MEMBER:
                taken[r[0]] += 1
                out.append(
                    ChannelActivity(r[0], r[1], r[2], r[3], int(r[4]), int(r[5]), r[6], r[7])
                )
    return out
