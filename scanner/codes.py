"""Member codes and their offline check: signed app codes and printed card numbers.

Two kinds of text identify a member:

* **App code** (the QR on the member's phone), ``LT`` followed by the payload and its Ed25519
  signature in a 32-letter alphabet (``ALPHABET``) that lies in QR's alphanumeric mode and
  survives keyboard-wedge scanners on other keyboard layouts (see ``scanner.wedge``)::

      byte  0      format version (1)
      bytes 1-4    valid from, Unix seconds (unsigned, big-endian)
      bytes 5-6    lifetime in seconds (unsigned, at most 65535)
      bytes 7-10   nonce (random; two codes minted in the same second differ)
      bytes 11-12  key tag: the first two bytes of SHA-256 of the key id
      bytes 13..   member id, ASCII [A-Za-z0-9_-]{1,32}
      last 64      Ed25519 signature of ``SIGNING_CONTEXT + bytes 0..``

  For member ``M000001`` that is 84 bytes and 137 characters, QR version 6 at level M; a till-
  enrolled member (``M`` + 13 digits) still fits version 6-M, the longest id needs version 7-M.
  The key travels as a 2-byte tag, not as its id, to keep the code small: the till tries every
  key it holds whose id has that tag (a tag collision costs one more signature check).

* **Card code**: a card number of 12 to 19 ASCII digits whose last digit is the Luhn check digit,
  printed as a QR or typed by hand.

``verify`` never raises on bad input and never reads a clock: it returns a ``MemberCode`` or a
``ScanRefused`` whose ``reason`` the terminal translates (``scan.refused.<reason>``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
import struct
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from stdnum import luhn

PREFIX = "LT"
VERSION = 1
SIGNING_CONTEXT = b"loyalty-till app code v1\x00"
# RFC 4648 base32 without W (a Greek layout types Shift+W and Shift+S both as Σ) and with 8
# instead: every symbol is in QR's alphanumeric mode and has a key of its own on every layout
# in scanner/layouts.py, so wedge input typed through those layouts can be undone.
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVXYZ2345678"
_RFC4648 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_ALPHABET = str.maketrans(_RFC4648, ALPHABET)
_FROM_ALPHABET = str.maketrans(ALPHABET, _RFC4648)

MEMBER_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
CARD_MIN_DIGITS = 12
CARD_MAX_DIGITS = 19
MAX_LIFETIME_S = 0xFFFF
_HEADER = struct.Struct(">BIH4s2s")
_SIGNATURE_LEN = 64
_MIN_TOKEN = _HEADER.size + 1 + _SIGNATURE_LEN
_MAX_TOKEN = _HEADER.size + 32 + _SIGNATURE_LEN
# Longer text cannot be a member code; refuse it before any work.
MAX_TEXT_LEN = 256
DEFAULT_SKEW_S = 120
DEFAULT_LIFETIME_S = 300


class Reason(StrEnum):
    """Why a code was refused. The terminal shows ``scan.refused.<value>``."""

    NOT_A_MEMBER_CODE = "not_a_member_code"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"  # a card on the deny-list
    BLOCKED = "blocked"  # a member on the deny-list
    BAD_CHECK_DIGIT = "bad_check_digit"
    REPLAY = "replay"
    WRONG_KEYBOARD_LAYOUT = "wrong_keyboard_layout"


class CodeKind(StrEnum):
    APP = "app"
    CARD = "card"


@dataclass(frozen=True)
class MemberCode:
    """A code that passed every check.

    App codes name the member. A card code carries only its number: the member cache (loyalty)
    knows whose card it is, so ``member_id`` is None and the terminal looks the card up.
    ``layout`` is the keyboard layout (an XKB name such as ``gr``) whose garbling was undone
    for typed input, so the terminal can suggest switching the till to a US layout.
    """

    kind: CodeKind
    member_id: str | None = None
    card_number: str | None = None
    key_id: str | None = None
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    layout: str | None = None


@dataclass(frozen=True)
class ScanRefused:
    """A refused code: its reason, and details (times, ids, the layout) as strings for logs,
    support and richer texts; ``scan.refused.<reason>`` needs none of them."""

    reason: Reason
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DenyList:
    """Revoked cards and blocked members, pulled from head office, checked at every scan."""

    revoked_cards: frozenset[str] = frozenset()
    blocked_members: frozenset[str] = frozenset()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DenyList:
        """From ``{"revoked_cards": [...], "blocked_members": [...]}``; ValueError if malformed."""

        def strings(name: str) -> frozenset[str]:
            value = data.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{name} must be a list of strings")
            return frozenset(value)

        return cls(strings("revoked_cards"), strings("blocked_members"))


EMPTY_DENY_LIST = DenyList()


class ReplayGuard(Protocol):
    """Remembers app codes used at this till until they expire."""

    def first_use(self, code_id: bytes, until: dt.datetime, now: dt.datetime) -> bool:
        """Record ``code_id`` (forgettable after ``until``); False if it was already recorded."""
        ...


class MemoryReplayGuard:
    """A thread-safe in-memory ReplayGuard (a restarted till forgets; codes live minutes)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._until: dict[bytes, dt.datetime] = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def first_use(self, code_id: bytes, until: dt.datetime, now: dt.datetime) -> bool:
        with self._lock:
            seen = self._until.get(code_id)
            if seen is not None and seen > now:
                return False
            if len(self._until) >= self._max:
                self._until = {k: v for k, v in self._until.items() if v > now}
                while len(self._until) >= self._max:  # still full: forget the soonest to expire
                    del self._until[min(self._until, key=self._until.__getitem__)]
            self._until[code_id] = until
            return True

    def seen(self, code_id: bytes, now: dt.datetime) -> bool:
        """Was ``code_id`` recorded and is it still remembered at ``now``? (Records nothing.)"""
        with self._lock:
            until = self._until.get(code_id)
            return until is not None and until > now

    def __len__(self) -> int:
        return len(self._until)


def key_tag(key_id: str) -> bytes:
    return hashlib.sha256(key_id.encode("utf-8")).digest()[:2]


@lru_cache(maxsize=64)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def _utc(when: dt.datetime, name: str) -> dt.datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return when.astimezone(dt.UTC)


def _from_unix(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def encode_alphabet(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").translate(_TO_ALPHABET)


def decode_alphabet(text: str) -> bytes | None:
    """The bytes of ``text`` in ``ALPHABET``, or None if it is not such a text."""
    if not text or any(c not in ALPHABET for c in text) or len(text) % 8 in (1, 3, 6):
        return None
    rfc = text.translate(_FROM_ALPHABET)
    try:
        return base64.b32decode(rfc + "=" * (-len(rfc) % 8))
    except ValueError:  # binascii.Error: non-zero padding bits
        return None


def mint_app_code(
    private_key: Ed25519PrivateKey | bytes,
    key_id: str,
    member_id: str,
    valid_from: dt.datetime,
    lifetime_s: int = DEFAULT_LIFETIME_S,
    nonce: bytes | None = None,
) -> str:
    """A signed app code. Pure apart from the random nonce (pass ``nonce`` for a fixed code).

    ``private_key`` is a cryptography key or its 32 raw bytes. Raises ValueError for a member id
    outside ``[A-Za-z0-9_-]{1,32}``, a lifetime outside 1..65535 s or a naive ``valid_from``.
    """
    if not MEMBER_ID.fullmatch(member_id):
        raise ValueError(f"member id must match {MEMBER_ID.pattern}: {member_id!r}")
    if not 1 <= lifetime_s <= MAX_LIFETIME_S:
        raise ValueError(f"lifetime must be 1..{MAX_LIFETIME_S} seconds")
    start = int(_utc(valid_from, "valid_from").timestamp())
    if not 0 <= start <= 0xFFFFFFFF:
        raise ValueError("valid_from out of range")
    nonce = os.urandom(4) if nonce is None else nonce
    if len(nonce) != 4:
        raise ValueError("nonce must be 4 bytes")
    if isinstance(private_key, bytes):
        private_key = Ed25519PrivateKey.from_private_bytes(private_key)
    header = _HEADER.pack(VERSION, start, lifetime_s, nonce, key_tag(key_id))
    payload = header + member_id.encode("ascii")
    signature = private_key.sign(SIGNING_CONTEXT + payload)
    return PREFIX + encode_alphabet(payload + signature)


def is_card_number(text: str) -> bool:
    """12 to 19 ASCII digits (the check digit is not looked at)."""
    return CARD_MIN_DIGITS <= len(text) <= CARD_MAX_DIGITS and text.isascii() and text.isdigit()


def _refuse(reason: Reason, **params: str) -> ScanRefused:
    return ScanRefused(reason, params)


def _verify_card(text: str, deny: DenyList) -> MemberCode | ScanRefused:
    if luhn.checksum(text) != 0:
        return _refuse(Reason.BAD_CHECK_DIGIT)
    if text in deny.revoked_cards:
        return _refuse(Reason.REVOKED, card_number=text)
    return MemberCode(CodeKind.CARD, card_number=text)


def _verify_app(
    text: str,
    keys: Mapping[str, bytes],
    now: dt.datetime,
    deny: DenyList,
    skew_s: int,
    replay_guard: ReplayGuard | None,
) -> MemberCode | ScanRefused:
    raw = decode_alphabet(text[len(PREFIX) :])
    if raw is None or not _MIN_TOKEN <= len(raw) <= _MAX_TOKEN:
        return _refuse(Reason.NOT_A_MEMBER_CODE)
    payload, signature = raw[:-_SIGNATURE_LEN], raw[-_SIGNATURE_LEN:]
    version, start, lifetime, _nonce, tag = _HEADER.unpack_from(payload)
    if version != VERSION:
        return _refuse(Reason.NOT_A_MEMBER_CODE)
    candidates = [key_id for key_id in keys if key_tag(key_id) == tag]
    if not candidates:
        return _refuse(Reason.UNKNOWN_KEY, key_tag=tag.hex())
    signed_by = None
    for key_id in candidates:
        try:
            _public_key(bytes(keys[key_id])).verify(signature, SIGNING_CONTEXT + payload)
        except (InvalidSignature, ValueError):
            continue
        signed_by = key_id
        break
    if signed_by is None:
        return _refuse(Reason.BAD_SIGNATURE)
    member_bytes = payload[_HEADER.size :]
    member_id = member_bytes.decode("ascii", errors="replace")
    if not MEMBER_ID.fullmatch(member_id):  # signed, but not by our head office's rules
        return _refuse(Reason.NOT_A_MEMBER_CODE)
    valid_from = _from_unix(start)
    valid_until = _from_unix(start + lifetime)
    skew = dt.timedelta(seconds=skew_s)
    if now < valid_from - skew:
        return _refuse(Reason.NOT_YET_VALID, valid_from=valid_from.isoformat())
    if now >= valid_until + skew:
        return _refuse(Reason.EXPIRED, valid_until=valid_until.isoformat())
    if member_id in deny.blocked_members:
        return _refuse(Reason.BLOCKED, member_id=member_id)
    if replay_guard is not None and not replay_guard.first_use(payload, valid_until + skew, now):
        return _refuse(Reason.REPLAY)
    return MemberCode(
        CodeKind.APP,
        member_id=member_id,
        key_id=signed_by,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def verify(
    text: str | bytes,
    keys: Mapping[str, bytes],
    now: dt.datetime,
    *,
    deny: DenyList = EMPTY_DENY_LIST,
    skew_s: int = DEFAULT_SKEW_S,
    replay_guard: ReplayGuard | None = None,
) -> MemberCode | ScanRefused:
    """Check one decoded text (a QR's content or a normalised typed code).

    ``keys`` maps key id to a raw 32-byte Ed25519 public key; ``now`` is aware. An app code is
    valid from ``valid_from - skew_s`` until ``valid_until + skew_s``; a replay guard, when given,
    refuses an app code it has seen before (and records this one). Blocked members and revoked
    cards in ``deny`` are refused. Never raises for any ``text``.
    """
    now = _utc(now, "now")
    if isinstance(text, bytes | bytearray | memoryview):
        if len(text) > MAX_TEXT_LEN:
            return _refuse(Reason.NOT_A_MEMBER_CODE)
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            return _refuse(Reason.NOT_A_MEMBER_CODE)
    if len(text) > MAX_TEXT_LEN:
        return _refuse(Reason.NOT_A_MEMBER_CODE)
    text = text.strip()
    if is_card_number(text):
        return _verify_card(text, deny)
    if text.startswith(PREFIX) and text.isascii():
        return _verify_app(text, keys, now, deny, skew_s, replay_guard)
    return _refuse(Reason.NOT_A_MEMBER_CODE)


def first_verified(
    texts: Iterable[str | bytes],
    keys: Mapping[str, bytes],
    now: dt.datetime,
    **options: Any,
) -> MemberCode | ScanRefused | None:
    """The first text that verifies; else the refusal of the first member-like text; else None.

    For a frame with several codes in it: a shop's own poster QR next to the member's phone is
    skipped (not a member code), a refused member code is reported.
    """
    refused: ScanRefused | None = None
    for text in texts:
        result = verify(text, keys, now, **options)
        if isinstance(result, MemberCode):
            return result
        if refused is None and result.reason is not Reason.NOT_A_MEMBER_CODE:
            refused = result
    return refused
