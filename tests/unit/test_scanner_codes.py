"""App codes and card codes: every refusal reason, key rotation, replay, and forged input that
must never raise."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from scanner.codes import (
    ALPHABET,
    PREFIX,
    CodeKind,
    DenyList,
    MemberCode,
    MemoryReplayGuard,
    Reason,
    ScanRefused,
    decode_alphabet,
    encode_alphabet,
    first_verified,
    key_tag,
    mint_app_code,
    verify,
)
from scanner.keys import public_bytes
from terminal.i18n import catalogue_keys

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
KEYS = {"test-2026": public_bytes(KEY)}


def mint(member: str = "M000001", *, lifetime: int = 300, nonce: int = 7, **kw: object) -> str:
    key = kw.pop("key", KEY)
    key_id = kw.pop("key_id", "test-2026")
    start = kw.pop("valid_from", T0)
    return mint_app_code(key, key_id, member, start, lifetime, nonce.to_bytes(4, "big"))  # type: ignore[arg-type]


def refused(result: MemberCode | ScanRefused) -> Reason:
    assert isinstance(result, ScanRefused), result
    return result.reason


def card(body: str) -> str:
    return body + luhn.calc_check_digit(body)


# -- app codes ---------------------------------------------------------------------------------


def test_an_app_code_verifies_and_names_its_member_key_and_window() -> None:
    result = verify(mint(), KEYS, T0 + dt.timedelta(seconds=10))
    assert result == MemberCode(
        CodeKind.APP,
        member_id="M000001",
        key_id="test-2026",
        valid_from=T0,
        valid_until=T0 + dt.timedelta(seconds=300),
    )


def test_an_app_code_is_84_bytes_in_qr_alphanumeric_and_fits_version_6_m() -> None:
    code = mint()
    assert code.startswith(PREFIX) and len(code) == 137
    assert len(decode_alphabet(code[2:]) or b"") == 84
    assert set(code) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    for member in ("M000001", "M" + card("200000000001")):  # fixtures, till-enrolled
        qr = segno.make_qr(mint(member), error="m", boost_error=False)
        assert qr.version <= 6 and qr.mode == "alphanumeric"
    assert segno.make_qr(mint("M" * 32), error="m", boost_error=False).version <= 7


def test_bytes_in_are_the_same_as_text() -> None:
    assert verify(mint().encode(), KEYS, T0) == verify(mint(), KEYS, T0)


@pytest.mark.parametrize(
    ("offset_s", "outcome"),
    [
        (-121, Reason.NOT_YET_VALID),
        (-120, None),  # two minutes of skew either side
        (0, None),
        (419, None),
        (420, Reason.EXPIRED),
        (10_000, Reason.EXPIRED),
    ],
)
def test_validity_window_with_clock_skew(offset_s: int, outcome: Reason | None) -> None:
    result = verify(mint(), KEYS, T0 + dt.timedelta(seconds=offset_s))
    if outcome is None:
        assert isinstance(result, MemberCode)
    else:
        assert refused(result) is outcome


def test_skew_is_configurable_and_refusals_carry_their_times() -> None:
    late = verify(mint(), KEYS, T0 + dt.timedelta(seconds=301), skew_s=0)
    assert late == ScanRefused(Reason.EXPIRED, {"valid_until": "2026-03-02T10:05:00+00:00"})
    early = verify(mint(), KEYS, T0 - dt.timedelta(seconds=1), skew_s=0)
    assert early == ScanRefused(Reason.NOT_YET_VALID, {"valid_from": "2026-03-02T10:00:00+00:00"})


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError):
        verify(mint(), KEYS, dt.datetime(2026, 3, 2, 10, 0))  # noqa: DTZ001


def test_wrong_key_is_a_bad_signature_and_an_unknown_key_id_is_unknown_key() -> None:
    forged = mint(key=OTHER)  # claims test-2026, signed by another key
    assert refused(verify(forged, KEYS, T0)) is Reason.BAD_SIGNATURE
    result = verify(mint(key_id="test-2027"), KEYS, T0)
    assert result == ScanRefused(Reason.UNKNOWN_KEY, {"key_tag": key_tag("test-2027").hex()})
    assert refused(verify(mint(), {}, T0)) is Reason.UNKNOWN_KEY


def test_key_rotation_keeps_old_and_new_keys_valid_side_by_side() -> None:
    keys = {"test-2026": public_bytes(KEY), "test-2027": public_bytes(OTHER)}
    old = verify(mint(), keys, T0)
    new = verify(mint(key=OTHER, key_id="test-2027"), keys, T0)
    assert isinstance(old, MemberCode) and old.key_id == "test-2026"
    assert isinstance(new, MemberCode) and new.key_id == "test-2027"


def test_two_key_ids_sharing_a_tag_are_both_tried() -> None:
    tags: dict[bytes, str] = {}
    for i in itertools.count():
        key_id = f"k{i}"
        if key_tag(key_id) in tags:
            twin = tags[key_tag(key_id)]
            break
        tags[key_tag(key_id)] = key_id
    keys = {twin: public_bytes(OTHER), key_id: public_bytes(KEY)}
    result = verify(mint(key_id=key_id), keys, T0)
    assert isinstance(result, MemberCode) and result.key_id == key_id


def test_a_code_is_accepted_once_per_till_then_refused_as_replay() -> None:
    guard = MemoryReplayGuard()
    assert isinstance(verify(mint(), KEYS, T0, replay_guard=guard), MemberCode)
    assert refused(verify(mint(), KEYS, T0, replay_guard=guard)) is Reason.REPLAY
    # a fresh code (new nonce) for the same member is fine
    assert isinstance(verify(mint(nonce=8), KEYS, T0, replay_guard=guard), MemberCode)
    # refused codes are not recorded: an expired one does not fill the guard
    verify(mint(nonce=9), KEYS, T0 + dt.timedelta(hours=1), replay_guard=guard)
    assert len(guard) == 2


def test_replay_guard_forgets_expired_codes_when_full() -> None:
    guard = MemoryReplayGuard(max_entries=3)
    for i in range(3):
        assert guard.first_use(bytes([i]), T0 + dt.timedelta(seconds=i), T0)
    assert guard.first_use(b"x", T0 + dt.timedelta(minutes=5), T0 + dt.timedelta(seconds=10))
    assert len(guard) == 1
    # full of live entries: the one closest to expiry goes, never the newest
    for i in range(2):
        guard.first_use(bytes([10 + i]), T0 + dt.timedelta(minutes=6 + i), T0)
    assert guard.first_use(b"y", T0 + dt.timedelta(minutes=9), T0)
    assert not guard.first_use(b"y", T0 + dt.timedelta(minutes=9), T0)


def test_blocked_member_and_revoked_card_are_refused() -> None:
    deny = DenyList.from_mapping(
        {"blocked_members": ["M000001"], "revoked_cards": [card("200000000001")]}
    )
    assert verify(mint(), KEYS, T0, deny=deny) == ScanRefused(
        Reason.BLOCKED, {"member_id": "M000001"}
    )
    assert verify(card("200000000001"), KEYS, T0, deny=deny) == ScanRefused(
        Reason.REVOKED, {"card_number": card("200000000001")}
    )
    assert isinstance(verify(mint("M000002"), KEYS, T0, deny=deny), MemberCode)


@pytest.mark.parametrize("bad", [{"revoked_cards": "123"}, {"blocked_members": [1, 2]}])
def test_malformed_deny_list_is_an_error(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DenyList.from_mapping(bad)


def test_minting_refuses_what_it_cannot_encode() -> None:
    for member in ("", "M" * 33, "M 1", "Mé"):
        with pytest.raises(ValueError):
            mint(member)
    for lifetime in (0, 65536):
        with pytest.raises(ValueError):
            mint(lifetime=lifetime)
    with pytest.raises(ValueError):
        mint(valid_from=dt.datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError):
        mint_app_code(KEY, "k", "M1", T0, 300, nonce=b"12345")


def test_mint_without_nonce_gives_a_different_code_each_time() -> None:
    assert mint_app_code(KEY, "test-2026", "M1", T0) != mint_app_code(KEY, "test-2026", "M1", T0)


def test_raw_private_key_bytes_mint_the_same_code() -> None:
    raw = bytes(range(32))
    code = mint_app_code(raw, "test-2026", "M000001", T0, 300, (7).to_bytes(4, "big"))
    assert code == mint()


# -- card codes --------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [12, 13, 16, 19])
def test_card_numbers_of_12_to_19_digits_with_a_luhn_digit(length: int) -> None:
    number = card("4" + "0" * (length - 2))
    assert verify(number, KEYS, T0) == MemberCode(CodeKind.CARD, card_number=number)


def test_a_wrong_check_digit_is_bad_check_digit() -> None:
    number = card("200000000001")
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert refused(verify(wrong, KEYS, T0)) is Reason.BAD_CHECK_DIGIT
    swapped = number[:3] + number[4] + number[3] + number[5:]  # 2 adjacent digits swapped
    if swapped != number:
        assert refused(verify(swapped, KEYS, T0)) is Reason.BAD_CHECK_DIGIT


@pytest.mark.parametrize("text", ["12345678903", "1" * 20, "", "   ", "١٢٣٤٥٦٧٨٩٠١٢", "hello"])
def test_other_text_is_not_a_member_code(text: str) -> None:
    assert refused(verify(text, KEYS, T0)) is Reason.NOT_A_MEMBER_CODE


# -- forged and hostile input ------------------------------------------------------------------


def test_every_single_bit_flip_is_refused() -> None:
    raw = bytearray(decode_alphabet(mint()[2:]) or b"")
    for i in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[i // 8] ^= 1 << (i % 8)
        result = verify(PREFIX + encode_alphabet(bytes(flipped)), KEYS, T0)
        assert isinstance(result, ScanRefused), f"bit {i} flipped was accepted"


def test_truncated_padded_oversize_and_non_utf8_codes_are_refused() -> None:
    code = mint()
    for cut in range(len(code)):
        assert isinstance(verify(code[:cut], KEYS, T0), ScanRefused)
    for extra in ("A", "AA", "AAA"):  # longer: a member id one byte longer, or no base32
        assert refused(verify(code + extra, KEYS, T0)) in (
            Reason.BAD_SIGNATURE,
            Reason.NOT_A_MEMBER_CODE,
        )
    assert refused(verify(code * 50, KEYS, T0)) is Reason.NOT_A_MEMBER_CODE
    assert refused(verify(b"\xff\xfe" + code.encode(), KEYS, T0)) is Reason.NOT_A_MEMBER_CODE
    assert refused(verify(b"\x00" * 10_000_000, KEYS, T0)) is Reason.NOT_A_MEMBER_CODE
    assert refused(verify(code.lower(), KEYS, T0)) is Reason.NOT_A_MEMBER_CODE


def test_a_signed_code_with_another_version_or_a_bad_member_id_is_refused() -> None:
    raw = bytearray(decode_alphabet(mint()[2:]) or b"")
    raw[0] = 2
    assert refused(verify(PREFIX + encode_alphabet(bytes(raw)), KEYS, T0)) in (
        Reason.NOT_A_MEMBER_CODE,
        Reason.BAD_SIGNATURE,
    )


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=400), st.binary(max_size=400)))
def test_no_input_makes_verify_raise(text: str | bytes) -> None:
    assert isinstance(verify(text, KEYS, T0), ScanRefused | MemberCode)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET, min_size=0, max_size=200))
def test_no_text_in_the_code_alphabet_makes_verify_raise(body: str) -> None:
    assert isinstance(verify(PREFIX + body, KEYS, T0), ScanRefused)


def test_first_verified_skips_other_codes_and_reports_a_refused_member_code() -> None:
    poster = "HTTPS://SHOP.EXAMPLE/OFFERS"
    assert first_verified([poster, mint()], KEYS, T0) == verify(mint(), KEYS, T0)
    assert refused(first_verified([poster, mint(key=OTHER)], KEYS, T0)) is Reason.BAD_SIGNATURE  # type: ignore[arg-type]
    assert first_verified([poster], KEYS, T0) is None


def test_every_reason_has_a_text_in_the_catalogue() -> None:
    english = catalogue_keys("en")
    missing = [r.value for r in Reason if f"scan.refused.{r.value}" not in english]
    assert not missing
