"""Reading codes from a camera, a video file or a stream in a background thread.

``CameraReader`` opens an OpenCV ``VideoCapture``, decodes every frame it can keep up with and
calls ``on_event`` (from its own thread) with past-tense events: ``CodeSeen`` once per
appearance of a code (the same code on consecutive frames is one event; it counts as gone after
``forget_after_s`` without it), ``CameraFailed`` when the device cannot be opened or stops
giving frames (then, for a live source, it tries to reopen every ``reopen_after_s``),
``CameraOpened`` when it has a picture, and ``CameraEnded`` at the end of a video file. A live
source is decoded at most ``max_decode_fps`` times a second; a file, every frame.
It never raises out of its thread. The terminal verifies each ``CodeSeen`` with the clock of
its choice (``scanner.codes.verify``) and posts the result to the UI.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from scanner.decoders import Decoder
from scanner.images import decode_frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CodeSeen:
    payload: bytes
    at_s: float  # seconds since the reader started (video time for a file)
    frame: int


@dataclass(frozen=True)
class CameraOpened:
    source: str


@dataclass(frozen=True)
class CameraFailed:
    source: str
    code: str  # "open_failed" or "lost"


@dataclass(frozen=True)
class CameraEnded:
    source: str
    frames: int


CameraEvent = CodeSeen | CameraOpened | CameraFailed | CameraEnded


def parse_source(source: str | int) -> str | int:
    """A device index ("0" -> 0), else the file path or stream URL unchanged."""
    if isinstance(source, int):
        return source
    text = source.strip()
    return int(text) if text.isdigit() else text


def is_live(source: str | int) -> bool:
    """A device or a stream (reopened when it drops) rather than a file (which ends)."""
    source = parse_source(source)
    return isinstance(source, int) or not Path(source).is_file()


class CameraReader:
    """Reads ``source`` in a thread until ``stop()``; see the module's docstring."""

    def __init__(
        self,
        source: str | int,
        decoder: Decoder,
        on_event: Callable[[CameraEvent], None],
        *,
        forget_after_s: float = 1.0,
        lost_after_failures: int = 15,
        reopen_after_s: float | None = 2.0,
        live: bool | None = None,
        max_decode_fps: float | None = 15.0,
    ) -> None:
        self.source = parse_source(source)
        self.decoder = decoder
        self.on_event = on_event
        self.forget_after_s = forget_after_s
        self.lost_after_failures = lost_after_failures
        self.reopen_after_s = reopen_after_s
        self.live = is_live(self.source) if live is None else live
        # A live camera is read at its own rate (so no stale frames queue up) but decoded at
        # most this often: a frame without a code costs every retry pass, and a till has 2 cores.
        self.min_decode_interval_s = 1.0 / max_decode_fps if max_decode_fps else 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_seen: dict[bytes, float] = {}

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="camera-reader", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Ask the loop to end and wait for it; True if it ended within ``timeout_s``."""
        self._stop.set()
        if self._thread is None or self._thread is threading.current_thread():
            return True  # (from an event handler, the loop ends when the handler returns)
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> CameraReader:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the loop --------------------------------------------------------------------------
    def _emit(self, event: CameraEvent) -> None:
        try:
            self.on_event(event)
        except Exception:  # a broken handler must not kill the camera
            log.exception("camera event handler failed on %r", event)

    def _open(self) -> Any:
        capture = cv2.VideoCapture(self.source)
        if not capture.isOpened():
            capture.release()
            return None
        if self.live:
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not a queue of old ones
        return capture

    def run(self) -> None:
        """The loop itself (``start`` runs it in a thread; a test may call it directly)."""
        name = str(self.source)
        failing = False  # report an outage once, not at every attempt to reopen
        while not self._stop.is_set():
            capture = self._open()
            if capture is None:
                if not failing:
                    self._emit(CameraFailed(name, "open_failed"))
                failing = True
                if not self._wait_to_reopen():
                    return
                continue
            self._emit(CameraOpened(name))
            try:
                ended, failing = self._read_frames(capture, name), True
            finally:
                capture.release()
            if ended or not self._wait_to_reopen():
                return

    def _wait_to_reopen(self) -> bool:
        if not self.live or self.reopen_after_s is None:
            return False
        return not self._stop.wait(self.reopen_after_s)

    def _read_frames(self, capture: Any, name: str) -> bool:
        """Reads until stopped (False), lost (False, reported) or the file ends (True)."""
        fps = capture.get(cv2.CAP_PROP_FPS) if not self.live else 0.0
        started = time.monotonic()
        frame_no = 0
        failures = 0
        last_decode_s = float("-inf")
        while not self._stop.is_set():
            try:
                ok, frame = capture.read()
            except cv2.error:
                ok, frame = False, None
            if not ok or frame is None:
                if not self.live:
                    self._emit(CameraEnded(name, frame_no))
                    return True
                failures += 1
                if failures >= self.lost_after_failures:
                    self._emit(CameraFailed(name, "lost"))
                    return False
                self._stop.wait(0.02)
                continue
            failures = 0
            at_s = frame_no / fps if fps > 0 else time.monotonic() - started
            if self.live and at_s - last_decode_s < self.min_decode_interval_s:
                frame_no += 1
                continue
            last_decode_s = at_s
            try:
                payloads = decode_frame(frame, self.decoder)
            except Exception:  # a decoder bug on one odd frame must not stop the till's camera
                log.exception("decoding frame %d failed", frame_no)
                payloads = []
            self._report(payloads, at_s, frame_no)
            frame_no += 1
        return False

    def _report(self, payloads: list[bytes], at_s: float, frame_no: int) -> None:
        for payload in payloads:
            last = self._last_seen.get(payload)
            self._last_seen[payload] = at_s
            if last is None or at_s - last > self.forget_after_s:
                self._emit(CodeSeen(payload, at_s, frame_no))
        gone = [p for p, t in self._last_seen.items() if at_s - t > self.forget_after_s]
        for payload in gone:
            del self._last_seen[payload]


def read_video(
    source: str | int, decoder: Decoder, *, forget_after_s: float = 1.0
) -> list[CameraEvent]:
    """Every event of a whole video file, in the calling thread (``till scan --video``)."""
    events: list[CameraEvent] = []
    CameraReader(source, decoder, events.append, forget_after_s=forget_after_s, live=False).run()
    return events
