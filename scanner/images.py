"""Image files and single frames: from pixels to member codes.

``read_image`` refuses files that are not images or are too large before decoding them (a
decompression bomb in a support ticket must not take the till's memory) and shrinks big
photos; ``scan_frame`` decodes one frame and verifies what it holds.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from scanner.codes import MemberCode, ScanRefused, first_verified
from scanner.decoders import Decoder, Gray, to_gray

MAX_IMAGE_PIXELS = 50_000_000  # a 48 MP phone photo is the largest image we expect
DECODE_MAX_SIDE = 2560  # a larger image is shrunk to this before decoding


class ScanError(Exception):
    """A file or device problem, not a refused code. ``code`` for the terminal to translate:
    ``file_not_found``, ``unreadable_image``, ``image_too_large``."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = params


def read_image(path: Path) -> Gray:
    """A PNG, JPEG (or other format OpenCV reads) as 8-bit grayscale, at most DECODE_MAX_SIDE."""
    if not path.is_file():
        raise ScanError("file_not_found", path=str(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as header:  # reads the header only
                width, height = header.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        if isinstance(exc, Image.DecompressionBombError):
            raise ScanError("image_too_large", path=str(path)) from exc
        raise ScanError("unreadable_image", path=str(path)) from exc
    if width * height > MAX_IMAGE_PIXELS:
        raise ScanError("image_too_large", path=str(path))
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if gray is None:
        raise ScanError("unreadable_image", path=str(path))
    return shrink(cast(Gray, gray))


def shrink(gray: Gray, max_side: int = DECODE_MAX_SIDE) -> Gray:
    side = max(gray.shape[:2])
    if side <= max_side:
        return gray
    scale = max_side / side
    return cast(Gray, cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))


def decode_frame(frame: NDArray[np.uint8], decoder: Decoder) -> list[bytes]:
    """The payloads of the QR codes in a BGR or grayscale frame."""
    return decoder.decode(to_gray(frame))


def scan_frame(
    frame: NDArray[np.uint8],
    decoder: Decoder,
    keys: Mapping[str, bytes],
    now: dt.datetime,
    **options: Any,
) -> MemberCode | ScanRefused | None:
    """Frame to verified member code: the first member code in it that verifies, else the
    refusal of the first member-like code, else None (no member code in the frame)."""
    return first_verified(decode_frame(frame, decoder), keys, now, **options)
