"""The committed fixture images through the real decoders (zxing-cpp, pyzbar over libzbar0,
OpenCV) and the real verifier."""

from __future__ import annotations

import datetime as dt
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from scanner.codes import MemberCode, MemoryReplayGuard, Reason, ScanRefused
from scanner.decoders import DECODER_NAMES, DEFAULT_DECODER, Decoder, make_decoder
from scanner.images import ScanError, decode_frame, read_image, scan_frame
from scanner.keys import load_public_keys

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "fixtures" / "scanner"
MANIFEST: dict[str, Any] = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
NOW = dt.datetime.fromisoformat(MANIFEST["fixture_time"]) + dt.timedelta(minutes=1)
KEYS = load_public_keys(ROOT / "fixtures" / "keys")
IMAGES = MANIFEST["images"]
EASY = [i for i in IMAGES if not i["hard"] and "refused" not in i]
HARD = [i for i in IMAGES if i["hard"]]


@pytest.fixture(scope="module", params=DECODER_NAMES)
def decoder(request: pytest.FixtureRequest) -> Decoder:
    choice = make_decoder(request.param)
    assert choice.fell_back_from is None, f"{request.param} did not load: {choice.missing}"
    return choice.decoder


def identify(result: MemberCode | ScanRefused) -> str | None:
    if isinstance(result, MemberCode):
        return result.member_id or result.card_number
    return None


def verified_ids(payloads: list[bytes]) -> set[str]:
    from scanner.codes import verify

    return {i for p in payloads if (i := identify(verify(p, KEYS, NOW))) is not None}


def test_the_fixture_key_is_the_test_only_key() -> None:
    assert set(KEYS) == {"test-2026"}
    assert (ROOT / "fixtures" / "keys" / "test-2026.TEST-ONLY-private.pem").is_file()


@pytest.mark.parametrize("item", EASY, ids=[i["file"] for i in EASY])
def test_every_decoder_reads_the_easy_images(decoder: Decoder, item: dict[str, Any]) -> None:
    payloads = decoder.decode(read_image(HERE / item["file"]))
    assert verified_ids(payloads) == set(item["ids"])


def test_the_default_decoder_reads_nine_in_ten_hard_images() -> None:
    decoder = make_decoder(DEFAULT_DECODER).decoder
    read = [
        item["file"]
        for item in HARD
        if verified_ids(decoder.decode(read_image(HERE / item["file"]))) == set(item["ids"])
    ]
    assert len(read) >= 0.9 * len(HARD), sorted({i["file"] for i in HARD} - set(read))


def test_zbar_misses_a_light_on_dark_code_until_the_inverted_retry() -> None:
    zbar = make_decoder("zbar").decoder
    frame = cv2.imread(str(HERE / "inverted.jpg"))
    assert zbar.raw(frame) == []  # libzbar itself does not see it
    assert verified_ids(decode_frame(frame, zbar)) == {"M000014"}


def test_a_frame_with_a_poster_a_phone_and_a_card_gives_a_member_code() -> None:
    frame = cv2.imread(str(HERE / "several.jpg"))
    decoder = make_decoder().decoder
    payloads = decode_frame(frame, decoder)
    assert len(payloads) == 3  # the shop's poster QR too
    [item] = [i for i in IMAGES if i["file"] == "several.jpg"]
    assert verified_ids(payloads) == set(item["ids"]) == {"M000021", "600000000000129"}
    result = scan_frame(frame, decoder, KEYS, NOW)
    assert isinstance(result, MemberCode) and identify(result) in item["ids"]


def test_a_forged_code_in_an_image_is_refused_as_bad_signature() -> None:
    gray = read_image(HERE / "forged.png")
    result = scan_frame(gray, make_decoder().decoder, KEYS, NOW)
    assert isinstance(result, ScanRefused) and result.reason is Reason.BAD_SIGNATURE


def test_an_image_without_any_code_gives_none() -> None:
    assert scan_frame(read_image(HERE / "nothing.jpg"), make_decoder().decoder, KEYS, NOW) is None


def test_a_code_scanned_twice_is_a_replay_the_second_time() -> None:
    gray, guard = read_image(HERE / "clean.jpg"), MemoryReplayGuard()
    decoder = make_decoder().decoder
    assert isinstance(scan_frame(gray, decoder, KEYS, NOW, replay_guard=guard), MemberCode)
    second = scan_frame(gray, decoder, KEYS, NOW, replay_guard=guard)
    assert isinstance(second, ScanRefused) and second.reason is Reason.REPLAY


def test_a_big_phone_photo_is_shrunk_and_still_read(tmp_path: Path) -> None:
    frame = cv2.imread(str(HERE / "clean.jpg"))
    big = cv2.resize(frame, (4000, 2250), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(tmp_path / "photo.jpg"), big, [cv2.IMWRITE_JPEG_QUALITY, 85])
    gray = read_image(tmp_path / "photo.jpg")
    assert max(gray.shape) == 2560
    assert verified_ids(make_decoder().decoder.decode(gray)) == {"M000001"}


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that claims width x height (a decompression bomb's header) with one tiny IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("width", "height"), [(10_000, 10_000), (100_000, 100_000)])
def test_a_huge_image_is_refused_before_it_is_decoded(
    tmp_path: Path, width: int, height: int
) -> None:
    _png_header_only(tmp_path / "bomb.png", width, height)
    with pytest.raises(ScanError) as err:
        read_image(tmp_path / "bomb.png")
    assert err.value.code == "image_too_large"


def test_files_that_are_not_images_are_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("not an image")
    (tmp_path / "empty.jpg").write_bytes(b"")
    for name in ("notes.png", "empty.jpg"):
        with pytest.raises(ScanError) as err:
            read_image(tmp_path / name)
        assert err.value.code == "unreadable_image"
    with pytest.raises(ScanError) as err:
        read_image(tmp_path / "missing.png")
    assert err.value.code == "file_not_found"


def test_a_truncated_jpeg_never_raises_anything_but_scan_error(tmp_path: Path) -> None:
    data = (HERE / "clean.jpg").read_bytes()
    for cut in (100, len(data) // 3, len(data) - 100):
        (tmp_path / "cut.jpg").write_bytes(data[:cut])
        try:
            gray = read_image(tmp_path / "cut.jpg")
        except ScanError as exc:
            assert exc.code == "unreadable_image"
        else:
            make_decoder().decoder.decode(gray)


def test_odd_frames_do_not_break_the_decoders(decoder: Decoder) -> None:
    for frame in (
        np.zeros((1, 1), np.uint8),
        np.zeros((3, 5, 3), np.uint8),
        np.full((480, 640), 255, np.uint8),
        np.random.default_rng(0).integers(0, 255, (480, 640), dtype=np.uint8),
        np.zeros((480, 640, 4), np.uint8),
    ):
        assert decode_frame(frame, decoder) == []


def test_a_missing_decoder_library_falls_back_and_says_so() -> None:
    code = (
        "import sys; sys.modules['zxingcpp'] = None\n"
        "from scanner.decoders import make_decoder\n"
        "c = make_decoder('zxing')\n"
        "print(c.decoder.name, c.fell_back_from, bool(c.missing))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.split() == ["zbar", "zxing", "True"]


def test_an_unknown_decoder_name_is_an_error() -> None:
    with pytest.raises(ValueError):
        make_decoder("quagga")
