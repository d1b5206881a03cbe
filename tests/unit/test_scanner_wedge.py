"""Keyboard-wedge input: bursts told from typing by timing, and codes typed through other
keyboard layouts read back (or refused as ``wrong_keyboard_layout``).

The timing sequences are synthetic but shaped like the devices: a USB HID scanner types one key
per 1-16 ms report (here 2-12 ms with jitter), a person 80-400 ms apart (fast bigrams ~45 ms).
The layouts come from scanner/layouts.py, which scripts/make_wedge_layouts.py generates from
xkb-data; the few sequences spelled out below were checked by hand against xkb's symbol files.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from stdnum import luhn

from scanner.codes import ALPHABET, PREFIX, CodeKind, MemberCode, Reason, ScanRefused, mint_app_code
from scanner.keys import public_bytes
from scanner.layouts import LAYOUTS, TYPED_AS
from scanner.wedge import BurstDetector, TypedLine, WedgeScan, readings, verify_typed

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEYS = {"test-2026": public_bytes(KEY)}
CODE = mint_app_code(KEY, "test-2026", "M000001", T0, 300, b"\0\0\0\1")
CARD = "200000000001" + luhn.calc_check_digit("200000000001")


def scanner_keys(text: str, start: float, rng: random.Random) -> list[tuple[str, float]]:
    """A scanner typing ``text`` then Enter: 2-12 ms between keys."""
    events, at = [], start
    for ch in [*text, "enter"]:
        events.append((ch, at))
        at += rng.uniform(0.002, 0.012)
    return events


def person_keys(text: str, start: float, rng: random.Random) -> list[tuple[str, float]]:
    """A cashier typing: 80-400 ms between keys, now and then a fast 45 ms bigram."""
    events, at = [], start
    for i, ch in enumerate([*text, "enter"]):
        events.append((ch, at))
        at += 0.045 if i % 5 == 3 else rng.uniform(0.08, 0.4)
    return events


def feed(detector: BurstDetector, events: list[tuple[str, float]]) -> list[object]:
    out = []
    for key, at in events:
        result = detector.feed(key, at)
        if result is not None:
            out.append(result)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_a_scanner_burst_is_a_wedge_scan_and_typing_is_a_typed_line(seed: int) -> None:
    rng = random.Random(seed)
    detector = BurstDetector()
    [scan] = feed(detector, scanner_keys(CODE, 10.0, rng))
    assert isinstance(scan, WedgeScan) and scan.text == CODE
    assert scan.duration_s < 137 * 0.012 + 0.013
    [typed] = feed(detector, person_keys(CARD, 20.0, rng))
    assert typed == TypedLine(CARD)


def test_a_person_who_types_fast_for_a_moment_is_still_a_person() -> None:
    events = [(c, 0.05 * i if i < 4 else 0.2 + 0.15 * i) for i, c in enumerate("123456789012")]
    events.append(("enter", events[-1][1] + 0.2))
    assert feed(BurstDetector(), events) == [TypedLine("123456789012")]


def test_short_bursts_are_not_scans() -> None:
    rng = random.Random(1)
    assert feed(BurstDetector(), scanner_keys("12345", 0.0, rng)) == [TypedLine("12345")]


def test_a_burst_after_some_typing_is_a_scan_of_the_burst_alone() -> None:
    rng = random.Random(2)
    events = person_keys("ab", 0.0, rng)[:-1] + scanner_keys(CARD, 5.0, rng)
    assert feed(BurstDetector(), events) == [WedgeScan(CARD, pytest.approx(0, abs=0.2))]  # type: ignore[arg-type]


def test_one_slow_key_inside_a_burst_makes_it_typing() -> None:
    rng = random.Random(3)
    events = scanner_keys(CARD, 0.0, rng)
    events = [(k, at + (0.2 if i >= 6 else 0.0)) for i, (k, at) in enumerate(events)]
    # the keys after the pause are 7 fast characters and Enter: a burst of its own
    assert feed(BurstDetector(), events) == [WedgeScan(CARD[6:], pytest.approx(0, abs=0.1))]  # type: ignore[arg-type]
    assert feed(BurstDetector(min_length=8), events) == [TypedLine(CARD)]


@pytest.mark.parametrize(
    ("framed", "kw"),
    [
        ("\x02" + CARD + "\x03", {}),  # STX ... ETX
        ("]Q1" + CARD, {}),  # AIM symbology identifier for QR
        ("]E0" + CARD, {}),
        ("#" + CARD + "#", {"prefix": "#", "suffix": "#"}),
        ("LOY:" + CARD, {"prefix": "LOY:"}),
    ],
)
def test_common_prefixes_and_suffixes_are_removed(framed: str, kw: dict[str, str]) -> None:
    [scan] = feed(BurstDetector(**kw), scanner_keys(framed, 0.0, random.Random(4)))  # type: ignore[arg-type]
    assert isinstance(scan, WedgeScan) and scan.text == CARD


def test_cr_lf_suffix_gives_one_scan_and_tab_is_no_key() -> None:
    events = scanner_keys(CARD, 0.0, random.Random(5))
    events.append(("\n", events[-1][1] + 0.004))
    assert len(feed(BurstDetector(), events)) == 1
    tabbed = [(k, at) for k, at in events if k != "\n"]
    tabbed.insert(-1, ("tab", tabbed[-1][1] - 0.001))
    [scan] = feed(BurstDetector(), tabbed)
    assert isinstance(scan, WedgeScan) and scan.text == CARD


def test_a_scanner_without_suffix_ends_its_burst_by_going_quiet() -> None:
    detector = BurstDetector(end_on_idle=True, idle_end_s=0.1)
    events = scanner_keys(CARD, 0.0, random.Random(6))[:-1]
    assert feed(detector, events) == []
    last = events[-1][1]
    assert detector.poll(last + 0.05) is None
    scan = detector.poll(last + 0.11)
    assert isinstance(scan, WedgeScan) and scan.text == CARD
    assert detector.poll(last + 1) is None
    assert BurstDetector().poll(100.0) is None


def test_empty_enter_and_modifier_keys_give_nothing() -> None:
    detector = BurstDetector()
    assert detector.feed("enter", 0.0) is None
    assert detector.feed("shift", 0.1) is None


# -- layouts -----------------------------------------------------------------------------------


def typed_through(layout: str, text: str) -> str:
    return "".join(TYPED_AS[layout].get(c, c) for c in text)


def test_hand_checked_layout_examples() -> None:
    # xkb symbols/gr: L -> Greek capital lambda; th: 1 2 3 on the digit row; fr: AZERTY digits.
    assert typed_through("gr", "LT") == "\u039b\u03a4"
    assert typed_through("th", "1234567890") == "ๅ/-ภถุึคตจ"
    assert typed_through("fr", "1234567890") == "&é\"'(-è_çà"
    assert typed_through("ir", "123") == "۱۲۳"
    assert typed_through("de", "ZY") == "YZ"


def test_every_code_character_has_its_own_key_on_every_layout() -> None:
    chars = sorted(set(ALPHABET + "0123456789"))
    for layout, table in LAYOUTS.items():
        typed = [TYPED_AS[layout].get(c, c) for c in chars]
        assert len(set(typed)) == len(chars), layout
        assert all(table.get(t, t) == c for t, c in zip(typed, chars, strict=True)), layout


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_an_app_code_typed_through_a_layout_is_read_and_the_layout_named(layout: str) -> None:
    garbled = typed_through(layout, CODE)
    assert garbled != CODE
    result = verify_typed(garbled, KEYS, T0)
    assert isinstance(result, MemberCode) and result.member_id == "M000001"
    assert result.layout == layout


@pytest.mark.parametrize("layout", ["fr", "th", "ir"])
def test_a_card_number_typed_through_a_layout_is_read(layout: str) -> None:
    result = verify_typed(typed_through(layout, CARD), KEYS, T0)
    # Persian keys type Persian digits: those are just digits, whoever typed them
    expected_layout = None if layout == "ir" else layout
    assert result == MemberCode(CodeKind.CARD, card_number=CARD, layout=expected_layout)


def test_caps_lock_lower_cases_the_code_and_is_undone() -> None:
    result = verify_typed(CODE.lower(), KEYS, T0)
    assert isinstance(result, MemberCode) and result.layout is None
    # key by key (str.lower() on a whole string would write a final sigma, which no key types)
    caps_lock_greek = "".join(c.lower() for c in typed_through("gr", CODE))
    greek = verify_typed(caps_lock_greek, KEYS, T0)
    assert isinstance(greek, MemberCode) and greek.layout == "gr"


def test_manual_entry_with_spaces_dashes_or_persian_and_thai_digits() -> None:
    spaced = f"{CARD[:4]} {CARD[4:8]}-{CARD[8:]}"
    persian = CARD.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    thai = CARD.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
    for text in (CARD, spaced, f"  {CARD}\n", persian, thai):
        assert verify_typed(text, KEYS, T0) == MemberCode(CodeKind.CARD, card_number=CARD)


def test_a_mistyped_card_is_a_bad_check_digit_even_in_persian_digits() -> None:
    wrong = CARD[:-1] + str((int(CARD[-1]) + 1) % 10)
    assert verify_typed(wrong, KEYS, T0) == ScanRefused(Reason.BAD_CHECK_DIGIT)
    persian = wrong.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert verify_typed(persian, KEYS, T0) == ScanRefused(Reason.BAD_CHECK_DIGIT)


def test_a_garbled_code_that_cannot_be_read_asks_for_the_layout_to_change() -> None:
    # a Persian layout turns most capitals into combining marks; lose one and nothing verifies
    broken = typed_through("ir", CODE)
    broken = broken[:40] + broken[41:]
    assert verify_typed(broken, KEYS, T0) == ScanRefused(
        Reason.WRONG_KEYBOARD_LAYOUT, {"layout": "ir"}
    )
    assert verify_typed("ΛΤΑΒΓ", KEYS, T0) == ScanRefused(
        Reason.WRONG_KEYBOARD_LAYOUT, {"layout": "gr"}
    )


def test_a_refusal_of_a_code_read_through_a_layout_is_that_refusal() -> None:
    late = T0 + dt.timedelta(hours=1)
    result = verify_typed(typed_through("gr", CODE), KEYS, late)
    assert isinstance(result, ScanRefused) and result.reason is Reason.EXPIRED
    forged = mint_app_code(
        Ed25519PrivateKey.generate(), "test-2026", "M000001", T0, 300, b"\0\0\0\2"
    )
    assert verify_typed(typed_through("th", forged), KEYS, T0) == ScanRefused(Reason.BAD_SIGNATURE)


def test_plain_text_is_not_a_member_code_and_huge_input_is_refused_quickly() -> None:
    assert verify_typed("hello world", KEYS, T0) == ScanRefused(Reason.NOT_A_MEMBER_CODE)
    assert verify_typed("", KEYS, T0) == ScanRefused(Reason.NOT_A_MEMBER_CODE)
    assert verify_typed(PREFIX * 100_000, KEYS, T0) == ScanRefused(Reason.NOT_A_MEMBER_CODE)


def test_readings_put_the_text_as_typed_first() -> None:
    assert readings(CARD)[0] == (CARD, None)
    assert readings("not a code") == []
