"""The 2x20 pole display: two lines of code-page text over a real TCP socket, fed by the same
views as the page."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from display.hub import Hub
from display.pole import CLEAR, INITIALISE, WIDTH, PoleDisplay, frame, lines
from display.view import Figure, MemberCard, SaleEnd, ShopperView


class PoleServer:
    """A pole display on 127.0.0.1: keeps every byte it is sent."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.data = bytearray()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                while chunk := conn.recv(4096):
                    self.data += chunk

    def frames(self, count: int, timeout: float = 5.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while bytes(self.data).count(INITIALISE) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return [INITIALISE + f for f in bytes(self.data).split(INITIALISE)[1:]]


@pytest.fixture
def pole() -> Iterator[PoleServer]:
    server = PoleServer()
    yield server
    server.sock.close()


def member(lang: str, greeting: str, label: str, value: str) -> ShopperView:
    card = MemberCard(greeting.split()[-1], greeting, "T", figures=(Figure(label, value),))
    direction = "rtl" if lang == "fa" else "ltr"
    return ShopperView("member", lang, direction, "P", member=card)  # type: ignore[arg-type]


def text_of(data: bytes, codec: str) -> str:
    return data[len(INITIALISE) + 3 + len(CLEAR) :].decode(codec)


def test_greek_greeting_and_points_in_the_greek_code_page(pole: PoleServer) -> None:
    display = PoleDisplay(f"tcp://127.0.0.1:{pole.port}")
    display.show(member("el", "Γεια σας, Νίκος!", "Διαθέσιμοι πόντοι", "12.000"))
    (sent,) = pole.frames(1)
    display.close()
    assert sent[:6] == INITIALISE + b"\x1bt\x0e" + CLEAR  # table 14: PC737
    text = text_of(sent, "cp737")
    assert len(text) == 2 * WIDTH
    assert text[:WIDTH].rstrip() == "Γεια σας, Νίκος!"
    assert text[WIDTH:].endswith("12.000")


def test_romanian_and_polish_letters_reach_the_pole() -> None:
    sent = frame(member("ro", "Bună ziua, Ștefan!", "Puncte", "300"))
    assert text_of(sent, "cp852")[:WIDTH].rstrip() == "Bună ziua, Ştefan!"
    sent = frame(member("pl", "Dzień dobry, Łucja!", "Punkty", "5 000"))
    assert "Łucja" in text_of(sent, "cp852")


def test_persian_and_thai_keep_their_figures_in_latin_digits() -> None:
    first, second = lines(member("fa", "رضا عزیز، خوش آمدید", "امتیاز قابل استفاده", "۸۸۰"))
    assert second.endswith("۸۸۰")
    text = text_of(frame(member("fa", "رضا عزیز", "امتیاز", "۱٬۲۵۰")), "ascii")
    assert text[WIDTH:].strip() == "1,250"


def test_nothing_of_a_name_becomes_a_command() -> None:
    hostile = member("en", "Hello, \x1b@\x0c\u202eevil!", "Points", "1")
    sent = frame(hostile)
    assert sent.count(b"\x1b") == 2 and sent.count(CLEAR) == 1


def test_the_end_of_a_sale_shows_earned_and_the_new_balance() -> None:
    end = SaleEnd(
        "Thank you!", (Figure("Points earned", "42"), Figure("New points balance", "192"))
    )
    first, second = lines(ShopperView("done", "en", "ltr", "P", end=end))
    assert first.startswith("Points earned") and first.endswith("42") and len(first) == WIDTH
    assert second.endswith("192") and len(second) == WIDTH


def test_the_hub_feeds_the_pole_and_an_unplugged_pole_costs_nothing(pole: PoleServer) -> None:
    hub = Hub()
    display = PoleDisplay(f"tcp://127.0.0.1:{pole.port}")
    hub.listen(display.show)
    hub.publish(member("en", "Hello, James!", "Points to spend", "150"))
    hub.publish(ShopperView("idle", "en", "ltr", "Olive & Oak Rewards", "Scan your code here"))
    first, second = pole.frames(2)
    assert "Hello, James!" in text_of(first, "cp437")
    assert text_of(second, "cp437").startswith("Olive & Oak Rewards")
    pole.sock.close()
    display.close()
    gone = PoleDisplay(f"tcp://127.0.0.1:{pole.port}", timeout=0.2)
    gone.show(member("en", "Hello, James!", "Points", "1"))  # refused: counted, not raised
    assert gone.failures == 2


# -- a pole fixed to one code page (``?codepage=``) ---------------------------------------------
def fixed(pole: PoleServer, code_page: str) -> PoleDisplay:
    return PoleDisplay(f"tcp://127.0.0.1:{pole.port}?codepage={code_page}")


def test_a_greek_pole_gets_greek_in_its_code_page_over_tcp(pole: PoleServer) -> None:
    display = fixed(pole, "iso8859-7")
    display.show(member("el", "Γεια σας, Νίκος!", "Διαθέσιμοι πόντοι", "12.000"))
    (sent,) = pole.frames(1)
    display.close()
    assert sent[:6] == INITIALISE + b"\x1bt\x0f" + CLEAR  # table 15: ISO 8859-7
    text = text_of(sent, "iso8859_7")
    assert text[:WIDTH].rstrip() == "Γεια σας, Νίκος!"
    assert "Ν".encode("iso8859_7") in sent and "Ν".encode("cp737") not in sent[6:]


def test_a_polish_pole_gets_polish_in_its_code_page_over_tcp(pole: PoleServer) -> None:
    display = fixed(pole, "cp852")
    display.show(member("pl", "Dzień dobry, Łucja!", "Punkty", "5 000"))
    display.show(member("ro", "Bună ziua, Ștefan!", "Puncte", "300"))
    first, second = pole.frames(2)
    display.close()
    assert first[:6] == second[:6] == INITIALISE + b"\x1bt\x12" + CLEAR  # table 18: PC852
    assert text_of(first, "cp852")[:WIDTH].rstrip() == "Dzień dobry, Łucja!"
    assert "Łucja".encode("cp852") in first
    assert text_of(second, "cp852")[:WIDTH].rstrip() == "Bună ziua, Ştefan!"


@pytest.mark.parametrize(
    ("lang", "greeting", "label", "value", "shown"),
    [
        ("el", "Γεια σας, Νίκος!", "Διαθέσιμοι πόντοι", "12.000", "12.000"),
        ("th", "สวัสดี สมหญิง!", "คะแนนที่ใช้ได้", "๖๔๐", "640"),
        ("fa", "خوش آمدید، مریم!", "امتیاز قابل استفاده", "۲٬۵۰۰", "2,500"),
    ],
)
def test_a_script_the_poles_code_page_cannot_show_falls_back_to_its_figures(
    pole: PoleServer, lang: str, greeting: str, label: str, value: str, shown: str
) -> None:
    display = fixed(pole, "cp852")
    display.show(member(lang, greeting, label, value))
    (sent,) = pole.frames(1)
    display.close()
    assert sent[:6] == INITIALISE + b"\x1bt\x12" + CLEAR
    text = text_of(sent, "cp852")
    assert "?" not in text  # never a line of question marks
    assert text[:WIDTH].rstrip() == "P"  # no figures in the greeting: the program's name
    assert text[WIDTH:].strip() == shown  # the figures, in Latin digits


def test_a_pole_code_page_that_is_not_one_is_refused_at_start() -> None:
    for url in ("tcp://127.0.0.1:9?codepage=utf8", "tcp://127.0.0.1:9?codepage=cp874",
                "tcp://127.0.0.1:9?speed=fast"):  # fmt: skip
        with pytest.raises(ValueError):
            PoleDisplay(url)
    assert PoleDisplay("tcp://127.0.0.1:9?codepage=CP-852").code_page == "cp852"
