"""The member-code parser and verifier against hostile input.

* ``verify`` and ``verify_typed`` (wedge scanners and typing, through every keyboard layout)
  never raise, whatever the text or bytes.
* No forged code is accepted: any change to a signed code's bytes (member id, times, key tag,
  nonce, signature), a code signed by a key the till does not trust under a key id it does,
  and a card number with a wrong check digit are all refused.
* Every refusal has a translated text in every language.
"""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from scanner.codes import (
    ALPHABET,
    PREFIX,
    MemberCode,
    Reason,
    ScanRefused,
    decode_alphabet,
    encode_alphabet,
    mint_app_code,
    verify,
)
from scanner.keys import public_bytes
from scanner.layouts import LAYOUTS
from scanner.wedge import verify_typed
from terminal.i18n import translator

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
FORGER = Ed25519PrivateKey.from_private_bytes(bytes(range(7, 39)))
KEYS = {"test-2026": public_bytes(KEY)}
LANGUAGES = ("en", "el", "pl", "ro", "th", "fa")
LAYOUT_CHARS = "".join(sorted({c for table in LAYOUTS.values() for c in table}))
HOSTILE_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=ALPHABET + LAYOUT_CHARS + " -\t\r\n\x00\x02\x03\u202e", max_size=300),
    st.builds(lambda s: PREFIX + s, st.text(alphabet=ALPHABET, max_size=200)),
    st.text(alphabet="0123456789 -٠١٢٣٤٥٦٧٨٩๐๑๒", min_size=10, max_size=25),
    st.just("x" * 10_000),
)
MEMBER = st.from_regex(r"\A[A-Za-z0-9_-]{1,32}\Z")


def _mint(member: str, key: Ed25519PrivateKey = KEY, nonce: int = 7) -> str:
    return mint_app_code(key, "test-2026", member, T0, 300, nonce.to_bytes(4, "big"))


def _assert_explained(result: MemberCode | ScanRefused) -> None:
    if isinstance(result, ScanRefused):
        for lang in LANGUAGES:
            assert translator(lang).has(f"scan.refused.{result.reason.value}")


@settings(max_examples=300, deadline=None)
@given(HOSTILE_TEXT)
def test_typed_or_scanned_text_never_raises_and_every_refusal_is_explained(text: str) -> None:
    for result in (verify(text, KEYS, T0), verify_typed(text, KEYS, T0)):
        assert isinstance(result, MemberCode | ScanRefused)
        _assert_explained(result)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_from_a_qr_never_raise(data: bytes) -> None:
    assert isinstance(verify(data, KEYS, T0), MemberCode | ScanRefused)


@settings(max_examples=300, deadline=None)
@given(member=MEMBER, data=st.data())
def test_no_change_to_a_signed_code_is_accepted(member: str, data: st.DataObject) -> None:
    code = _mint(member)
    assert isinstance(verify(code, KEYS, T0), MemberCode)
    raw = bytearray(decode_alphabet(code[len(PREFIX) :]) or b"")
    how = data.draw(st.sampled_from(["flip", "replace", "truncate", "extend", "member"]))
    if how == "flip":
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= 1 << data.draw(st.integers(0, 7))
    elif how == "replace":
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[i]))
    elif how == "truncate":
        del raw[data.draw(st.integers(0, len(raw) - 1)) :]
    elif how == "extend":
        raw += data.draw(st.binary(min_size=1, max_size=8))
    else:  # another member's id under this code's signature
        other = data.draw(MEMBER.filter(lambda m: m != member))
        raw = raw[:13] + other.encode() + raw[-64:]
    forged = PREFIX + encode_alphabet(bytes(raw))
    for result in (verify(forged, KEYS, T0), verify_typed(forged, KEYS, T0)):
        assert isinstance(result, ScanRefused), (how, member)
        _assert_explained(result)


@settings(max_examples=100, deadline=None)
@given(member=MEMBER, nonce=st.integers(0, 2**32 - 1))
def test_a_code_signed_by_an_untrusted_key_under_a_trusted_key_id_is_refused(
    member: str, nonce: int
) -> None:
    result = verify(_mint(member, FORGER, nonce), KEYS, T0)
    assert isinstance(result, ScanRefused) and result.reason is Reason.BAD_SIGNATURE


@settings(max_examples=200, deadline=None)
@given(body=st.text(alphabet="0123456789", min_size=11, max_size=18), wrong=st.integers(1, 9))
def test_a_card_number_with_a_wrong_check_digit_is_refused(body: str, wrong: int) -> None:
    digit = (int(luhn.calc_check_digit(body)) + wrong) % 10
    for result in (verify(body + str(digit), KEYS, T0), verify_typed(body + str(digit), KEYS, T0)):
        assert isinstance(result, ScanRefused) and result.reason is Reason.BAD_CHECK_DIGIT
