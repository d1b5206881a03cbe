"""QR decoders behind one small interface: an 8-bit grayscale frame in, the texts it holds out.

``zxing`` (zxing-cpp, wheels only), ``zbar`` (pyzbar over Debian's libzbar0) and ``opencv``
(OpenCV's own detector). ``DEFAULT_DECODER`` is the one bench/scanner.py found fastest and
best on the hard fixture set. ``make_decoder(name)`` falls back along ``FALLBACK_ORDER`` when
the library of the configured one is missing and says so in ``DecoderChoice.fell_back_from``.

Each decoder does its own retry passes, only when the pass before found nothing (so a readable
frame costs one pass): zbar and OpenCV miss light-on-dark codes and need the inverted image;
all three get a sharpened pass (slightly out of focus) and a contrast-equalised one (dim screens,
low-contrast prints). A frame without any code costs every pass.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

import cv2
import numpy as np
from numpy.typing import NDArray

Gray = NDArray[np.uint8]

DEFAULT_DECODER = "zxing"
FALLBACK_ORDER = ("zxing", "zbar", "opencv")


class Decoder(Protocol):
    """A QR decoder. One instance per thread: OpenCV's detector keeps state between calls."""

    name: str

    def decode(self, gray: Gray) -> list[bytes]:
        """The payloads of the QR codes in ``gray`` (2-D uint8), raw bytes, no duplicates."""
        ...

    def raw(self, frame: NDArray[np.uint8]) -> list[bytes]:
        """One call of the library on ``frame`` as it comes, no retries (the bench's baseline)."""
        ...


def _unique(items: list[bytes]) -> list[bytes]:
    return list(dict.fromkeys(items))


_CLAHE = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))


def equalised(gray: Gray) -> Gray:
    """Local contrast stretched (CLAHE): dim screens, low-contrast prints."""
    return cast(Gray, _CLAHE.apply(gray))


def sharpened(gray: Gray) -> Gray:
    """Unsharp mask: edges of a slightly out-of-focus code made steeper again."""
    blurred = cv2.GaussianBlur(gray, (0, 0), 2.0)
    return cast(Gray, cv2.addWeighted(gray, 2.0, blurred, -1.0, 0))


def inverted(gray: Gray) -> Gray:
    return cast(Gray, cv2.bitwise_not(gray))


Pass = Callable[[Gray], Gray]


class _Retrying:
    """Runs the library on the frame, then on each retry pass until one finds a code."""

    name: str
    passes: tuple[Pass, ...]

    def _read(self, image: NDArray[np.uint8]) -> list[bytes]:
        raise NotImplementedError

    def decode(self, gray: Gray) -> list[bytes]:
        found = self._read(gray)
        for retry in self.passes:
            if found:
                break
            found = self._read(retry(gray))
        return found

    def raw(self, frame: NDArray[np.uint8]) -> list[bytes]:
        return self._read(frame)


class ZxingDecoder(_Retrying):
    name = "zxing"
    # zxing-cpp tries the inverted image and downscaled copies by itself.
    passes = (sharpened, equalised)

    def __init__(self) -> None:
        self._zx: Any = importlib.import_module("zxingcpp")
        self._qr = self._zx.BarcodeFormat.QRCode

    def _read(self, image: NDArray[np.uint8]) -> list[bytes]:
        found = self._zx.read_barcodes(image, formats=self._qr)
        return _unique([bytes(r.bytes) for r in found if r.valid])


class ZbarDecoder(_Retrying):
    name = "zbar"
    passes = (inverted, sharpened, equalised)  # zbar misses light-on-dark codes

    def __init__(self) -> None:
        pyzbar = importlib.import_module("pyzbar.pyzbar")  # ImportError without libzbar0
        self._decode: Any = pyzbar.decode
        self._symbols = [pyzbar.ZBarSymbol.QRCODE]

    def _read(self, image: NDArray[np.uint8]) -> list[bytes]:
        return _unique([bytes(r.data) for r in self._decode(image, symbols=self._symbols)])


class OpenCVDecoder(_Retrying):
    name = "opencv"
    passes = (inverted, sharpened, equalised)

    def __init__(self) -> None:
        self._detector = cv2.QRCodeDetectorAruco()

    def _read(self, image: NDArray[np.uint8]) -> list[bytes]:
        try:
            ok, texts, _points, _straight = self._detector.detectAndDecodeMulti(image)
        except cv2.error:
            return []
        if not ok:
            return []
        # OpenCV gives text, not bytes; our codes are ASCII so nothing is lost for them.
        return _unique([t.encode("utf-8", "surrogateescape") for t in texts if t])


_DECODERS: dict[str, type[ZxingDecoder] | type[ZbarDecoder] | type[OpenCVDecoder]] = {
    "zxing": ZxingDecoder,
    "zbar": ZbarDecoder,
    "opencv": OpenCVDecoder,
}
DECODER_NAMES = tuple(_DECODERS)


@dataclass(frozen=True)
class DecoderChoice:
    """The decoder to use; ``fell_back_from`` names the configured one when it was missing."""

    decoder: Decoder
    fell_back_from: str | None = None
    missing: str | None = None  # why: the library that failed to load


def make_decoder(name: str = DEFAULT_DECODER) -> DecoderChoice:
    """The named decoder, else the first of ``FALLBACK_ORDER`` whose library loads.

    ValueError for a name that is not a decoder; ImportError only if no decoder loads at all.
    """
    if name not in _DECODERS:
        raise ValueError(f"unknown decoder {name!r}; choose from {', '.join(_DECODERS)}")
    missing: str | None = None
    for candidate in (name, *(n for n in FALLBACK_ORDER if n != name)):
        try:
            decoder = _DECODERS[candidate]()
        except (ImportError, OSError) as exc:
            missing = missing or str(exc)
            continue
        return DecoderChoice(decoder, None if candidate == name else name, missing)
    raise ImportError(f"no QR decoder could be loaded: {missing}")


def to_gray(frame: NDArray[np.uint8]) -> Gray:
    """An 8-bit grayscale view of a BGR, BGRA or grayscale frame."""
    if frame.ndim == 2:
        return frame
    code = cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return cast(Gray, cv2.cvtColor(frame, code))
