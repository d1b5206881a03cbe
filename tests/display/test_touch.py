"""The shopper's input on the display's real server (display/touch.py): only the paired page,
only while the till asks, one input at a time, a bounded number of tries, the phone's shape
checked before anything reaches the till, and many browsers at once get one input through."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import httpx
import pytest

from display.hub import Hub
from display.server import INPUT_LIMIT, DisplayServer
from display.touch import (
    TRIES_PER_ASK,
    AskLapsed,
    Desk,
    PhoneTyped,
    ShopperInput,
    TermsAnswered,
    phone_shape,
)
from display.view import AskPart, ShopperView

TOKEN = "the-pairing-token"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served() -> Iterator[tuple[Desk, DisplayServer, queue.SimpleQueue[ShopperInput]]]:
    got: queue.SimpleQueue[ShopperInput] = queue.SimpleQueue()
    desk = Desk(got.put, token=TOKEN)
    server = DisplayServer(Hub(ShopperView("idle", "en", "ltr", "P")), desk=desk)
    server.start()
    yield desk, server, got
    desk.stop()
    server.stop()


def post(server: DisplayServer, **body: object) -> tuple[int, str]:
    r = httpx.post(server.url + "input", json=body, timeout=10)
    return r.status_code, str(r.json()["answer"])


def phone(
    server: DisplayServer, session: str, value: object, token: str = TOKEN
) -> tuple[int, str]:
    return post(server, token=token, session=session, kind="phone", value=value)


def test_nothing_is_taken_unless_the_till_asks_and_the_page_is_paired(
    served: tuple[Desk, DisplayServer, queue.SimpleQueue[ShopperInput]],
) -> None:
    desk, server, got = served
    assert phone(server, "", "+48600000002") == (409, "not_asking")
    session = desk.ask("phone")
    assert phone(server, session, "+48600000002", token="guess") == (403, "not_paired")
    assert phone(server, session, "+48600000002", token="") == (403, "not_paired")
    assert phone(server, "an-earlier-ask", "+48600000002") == (409, "stale")
    assert post(server, token=TOKEN, session=session, kind="terms", value=True) == (409, "stale")
    assert phone(server, session, "+48 600 000 002") == (202, "sent")
    assert got.get(timeout=5) == PhoneTyped(session, "+48 600 000 002")
    assert phone(server, session, "+48600000002") == (409, "pending")  # a second tap
    desk.stop()
    assert phone(server, session, "+48600000002") == (409, "not_asking")
    assert got.empty()


@pytest.mark.parametrize(
    "value",
    [
        "maria",
        "4006381333931123456789",  # a barcode's digits: more than a phone has
        "+48 600 +000",
        "<script>alert(1)</script>",
        "\u202e+48600000002",
        "+48\x00600000002",
        "",
        12345678,
        None,
        ["+48600000002"],
        "9" * 41,
    ],
)
def test_what_cannot_be_a_phone_never_reaches_the_till(
    served: tuple[Desk, DisplayServer, queue.SimpleQueue[ShopperInput]], value: object
) -> None:
    desk, server, got = served
    session = desk.ask("phone")
    status, _answer = phone(server, session, value)
    assert status == 400
    assert got.empty()


def test_bodies_that_are_not_an_input_are_refused_without_reading_them_whole(
    served: tuple[Desk, DisplayServer, queue.SimpleQueue[ShopperInput]],
) -> None:
    desk, server, got = served
    session = desk.ask("phone")
    url = server.url + "input"
    assert httpx.post(url, content=b"{" * (INPUT_LIMIT * 50)).status_code == 413
    assert httpx.post(url, content=b"not json").status_code == 400
    body = {"token": TOKEN, "session": session, "kind": "phone", "value": "1", "more": 1}
    assert httpx.post(url, json=body).status_code == 400
    assert httpx.get(url).status_code == 405
    assert got.empty()


def test_tries_per_ask_and_per_minute_are_bounded() -> None:
    got: list[ShopperInput] = []
    clock = Clock()
    desk = Desk(got.append, token=TOKEN, per_minute=5, clock=clock)
    session = desk.ask("phone")
    for _ in range(TRIES_PER_ASK):
        assert desk.submit(TOKEN, session, "phone", "+4812") == "sent"
        desk.retry()  # the till: no phone number, try again
    assert desk.submit(TOKEN, session, "phone", "+48600000002") == "too_many"
    # A new ask has its own tries, but the minute's inputs count across asks.
    session = desk.ask("phone")
    assert desk.submit(TOKEN, session, "phone", "+4813") == "sent"
    desk.retry()
    assert desk.submit(TOKEN, session, "phone", "+4814") == "sent"
    desk.retry()
    assert desk.submit(TOKEN, session, "phone", "+4815") == "too_many"
    clock.now += 61
    assert desk.submit(TOKEN, session, "phone", "+4815") == "sent"
    assert len(got) == TRIES_PER_ASK + 3
    desk.stop()


def test_a_session_id_survives_the_views_cleaning() -> None:
    """The view masks long runs of digits in every text: a session id must hold none."""
    desk = Desk(lambda _item: None)
    for _ in range(200):
        session = desk.ask("phone")
        assert AskPart("phone", session, "t").session == session
    desk.stop()


def test_terms_are_answered_for_the_version_the_page_showed() -> None:
    got: list[ShopperInput] = []
    desk = Desk(got.append, token=TOKEN)
    session = desk.ask("terms", "2026-11")
    assert desk.submit(TOKEN, session, "terms", "yes") == "malformed"
    assert desk.submit(TOKEN, session, "terms", True) == "sent"
    assert got == [TermsAnswered(session, "2026-11", True)]
    desk.stop()


def test_a_shopper_who_leaves_mid_way_ends_the_ask() -> None:
    got: queue.SimpleQueue[ShopperInput] = queue.SimpleQueue()
    desk = Desk(got.put, token=TOKEN, window_s=0.2)
    session = desk.ask("phone")
    assert got.get(timeout=5) == AskLapsed(session)
    assert desk.asking is None
    assert desk.submit(TOKEN, session, "phone", "+48600000002") == "not_asking"


def test_fifty_browsers_at_once_get_one_input_through(
    served: tuple[Desk, DisplayServer, queue.SimpleQueue[ShopperInput]],
) -> None:
    desk, server, got = served
    session = desk.ask("phone")
    answers: list[str] = []
    start = threading.Barrier(50)

    def tap() -> None:
        start.wait()
        answers.append(phone(server, session, "+48600000002")[1])

    threads = [threading.Thread(target=tap) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(set(answers)) == ["pending", "sent"]
    assert answers.count("sent") == 1
    assert got.qsize() == 1


def test_the_shape_of_a_phone() -> None:
    assert phone_shape(" +48  600-000 (002) ") == "+48 600-000 (002)"
    assert phone_shape("0048600000002") == "0048600000002"
    assert phone_shape("+" + "1" * 15) is not None
    assert phone_shape("+" + "1" * 16) is None
    assert phone_shape("48+600") is None
    assert phone_shape("++48") is None
    # A Persian or Thai tablet keyboard's digits: read as the digits they are.
    assert phone_shape("+۹۸ ۹۱۲ ۰۰۰ ۰۰۰۶") == "+98 912 000 0006"
    assert phone_shape("+๖๖ ๘๑") == "+66 81"
    assert phone_shape("+48 ½") is None
