"""The camera loop on the committed clip (read back by OpenCV's VideoCapture) and on cameras
that are not there."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from scanner.camera import (
    CameraEnded,
    CameraEvent,
    CameraFailed,
    CameraOpened,
    CameraReader,
    CodeSeen,
    is_live,
    parse_source,
    read_video,
)
from scanner.codes import MemberCode, verify
from scanner.decoders import DECODER_NAMES, make_decoder
from scanner.keys import load_public_keys

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "fixtures" / "scanner"
MANIFEST: dict[str, Any] = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
CLIP = MANIFEST["clip"]
NOW = dt.datetime.fromisoformat(MANIFEST["fixture_time"]) + dt.timedelta(minutes=1)
KEYS = load_public_keys(ROOT / "fixtures" / "keys")
NO_SUCH_CAMERA = 63  # /dev/video63


def seen(events: list[CameraEvent]) -> list[CodeSeen]:
    return [e for e in events if isinstance(e, CodeSeen)]


@pytest.mark.parametrize("name", DECODER_NAMES)
def test_a_code_that_comes_stays_and_goes_is_reported_once(name: str) -> None:
    events = read_video(str(HERE / CLIP["file"]), make_decoder(name).decoder)
    assert isinstance(events[0], CameraOpened)
    assert events[-1] == CameraEnded(str(HERE / CLIP["file"]), CLIP["frames"])
    [code] = seen(events)
    first, stop = CLIP["present"]
    assert first <= code.frame < stop
    assert code.at_s == pytest.approx(code.frame / CLIP["fps"])
    result = verify(code.payload, KEYS, NOW)
    assert isinstance(result, MemberCode) and result.member_id in CLIP["ids"]


def test_a_code_is_reported_again_after_it_was_gone_for_long_enough() -> None:
    decoder = make_decoder().decoder
    # forget after 50 ms: at 10 fps every frame with the code is a new appearance
    events = read_video(str(HERE / CLIP["file"]), decoder, forget_after_s=0.05)
    assert len(seen(events)) > 5


def test_the_reader_runs_in_a_thread_and_stops_cleanly() -> None:
    events: list[CameraEvent] = []
    got_code = threading.Event()

    def on_event(event: CameraEvent) -> None:
        events.append(event)
        if isinstance(event, CodeSeen):
            got_code.set()

    reader = CameraReader(str(HERE / CLIP["file"]), make_decoder().decoder, on_event)
    with reader:
        assert reader.running
        assert got_code.wait(10)
    assert not reader.running
    assert len(seen(events)) == 1


def test_a_live_source_that_stops_giving_frames_is_reported_lost_not_crashed_on() -> None:
    events: list[CameraEvent] = []
    reader = CameraReader(
        str(HERE / CLIP["file"]),
        make_decoder().decoder,
        events.append,
        live=True,  # like a USB camera that is pulled out after 42 frames
        lost_after_failures=3,
        reopen_after_s=None,
        max_decode_fps=None,  # the file plays faster than a camera: decode every frame
    )
    reader.run()
    assert isinstance(events[0], CameraOpened)
    assert events[-1] == CameraFailed(str(HERE / CLIP["file"]), "lost")
    assert len(seen(events)) == 1


def test_a_camera_that_is_not_there_is_reported_once_while_retrying() -> None:
    events: list[CameraEvent] = []
    reader = CameraReader(
        NO_SUCH_CAMERA, make_decoder().decoder, events.append, reopen_after_s=0.05
    )
    reader.start()
    time.sleep(0.4)
    assert reader.stop()
    assert events == [CameraFailed(str(NO_SUCH_CAMERA), "open_failed")]


def test_a_broken_event_handler_does_not_stop_the_camera() -> None:
    calls: list[CameraEvent] = []

    def handler(event: CameraEvent) -> None:
        calls.append(event)
        raise RuntimeError("UI gone")

    CameraReader(str(HERE / CLIP["file"]), make_decoder().decoder, handler, live=False).run()
    assert isinstance(calls[-1], CameraEnded)


def test_sources_are_told_apart() -> None:
    assert parse_source("0") == 0 and parse_source(" 2 ") == 2
    assert parse_source("rtsp://cam.local/stream") == "rtsp://cam.local/stream"
    assert is_live(0) and is_live("rtsp://cam.local/stream")
    assert not is_live(str(HERE / CLIP["file"]))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_stream_url_is_read_and_its_end_is_a_lost_camera() -> None:
    handler = functools.partial(_QuietHandler, directory=str(HERE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{CLIP['file']}"
        assert is_live(url)
        events: list[CameraEvent] = []
        CameraReader(
            url,
            make_decoder().decoder,
            events.append,
            reopen_after_s=None,
            lost_after_failures=3,
            max_decode_fps=None,  # served faster than a camera would send it
        ).run()
    finally:
        server.shutdown()
        server.server_close()
    assert [type(e) for e in events] == [CameraOpened, CodeSeen, CameraFailed]


def test_a_live_source_is_decoded_at_most_max_decode_fps() -> None:
    decoded: list[int] = []

    class Counting:
        name = "counting"

        def __init__(self) -> None:
            self.inner = make_decoder().decoder

        def decode(self, gray: Any) -> list[bytes]:
            decoded.append(1)
            return self.inner.decode(gray)

        def raw(self, frame: Any) -> list[bytes]:
            return self.inner.raw(frame)

    events: list[CameraEvent] = []
    started = time.monotonic()
    CameraReader(
        str(HERE / CLIP["file"]),
        Counting(),
        events.append,
        live=True,
        lost_after_failures=3,
        reopen_after_s=None,
        max_decode_fps=5,
    ).run()
    elapsed = time.monotonic() - started
    assert len(decoded) <= 1 + elapsed * 5 < CLIP["frames"]


def test_the_reader_can_be_stopped_from_its_own_event_handler() -> None:
    events: list[CameraEvent] = []
    reader: CameraReader

    def on_event(event: CameraEvent) -> None:
        events.append(event)
        if isinstance(event, CodeSeen):
            assert reader.stop()

    reader = CameraReader(str(HERE / CLIP["file"]), make_decoder().decoder, on_event)
    reader.start()
    deadline = time.monotonic() + 10
    while reader.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not reader.running
    assert isinstance(events[-1], CodeSeen)  # stopped there, before the end of the clip
