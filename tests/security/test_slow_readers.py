"""A client that sends its request and then never reads the answer (its receive buffer tiny,
its TCP window full) no longer holds head office's handler and the answer in memory for ever:
past the write deadline (2 s here, the read-rate allowance set out of reach) head office drops
the connection, while a healthy client is served the same large answer. Without the deadline
the connections stay. Real sockets on 127.0.0.1; the store plays no part, so SQLite only."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from sync.headoffice.serve import ServerThread
from sync.headoffice.service import HeadOffice
from sync.headoffice.store import open_store
from tests.sync_fixtures import ADMIN, PROGRAM

MEMBERS = 5000  # one page of the change feed: an answer of a few megabytes
READERS = 10
# Not a speed claim: without the deadline they stay for ever. Under the server's keep-alive
# timeout (30 s), so a connection closed after its answer was all taken does not count.
GIVE_UP_S = 25.0


@pytest.fixture
def headoffice(tmp_path: Path) -> Iterator[tuple[HeadOffice, str]]:
    ho = HeadOffice(open_store(str(tmp_path / "headoffice.sqlite")), admin_token=ADMIN)
    ho.publish_program(PROGRAM)
    with ho.store.transaction() as tx:
        tx.many(
            "INSERT INTO members (member_id, display_name, snapshot_at) VALUES (?, ?, ?)",
            [(f"M{i:06d}", f"Member number {i} " + "x" * 600, p_now()) for i in range(MEMBERS)],
        )
    yield ho, ho.register_till("T1")
    ho.store.close()


def p_now() -> str:
    from sync import protocol as p

    return p.now_text()


def _server(ho: HeadOffice, write_s: float | None) -> ServerThread:
    thread = ServerThread(ho, write_timeout_s=write_s)
    thread.server.config.http.min_read_rate = 1 << 40  # type: ignore[union-attr]
    return thread


def _stalled_readers(port: int, token: str) -> list[socket.socket]:
    socks = []
    for _ in range(READERS):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)  # before connect: the window
        sock.connect(("127.0.0.1", port))
        sock.sendall(
            f"GET /v1/changes?limit={MEMBERS} HTTP/1.1\r\nHost: ho\r\n"
            f"Authorization: Bearer {token}\r\n\r\n".encode()
        )
        socks.append(sock)
    return socks


def _open_to(thread: ServerThread, socks: list[socket.socket]) -> int:
    ports = {s.getsockname()[1] for s in socks}
    conns = list(thread.server.server_state.connections)
    return sum(1 for c in conns if getattr(c, "client", None) and c.client[1] in ports)  # type: ignore[attr-defined]


def _wait(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + GIVE_UP_S
    while not done():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _healthy(url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, trust_env=False, timeout=60, headers=headers) as http:
        page = http.get("/v1/changes", params={"limit": MEMBERS})
        assert page.status_code == 200 and len(page.json()["members"]) == MEMBERS
        # More than the kernel's buffers on both sides take (some 2 MB on loopback here).
        assert len(page.content) > 4_000_000
        assert http.get("/v1/health").json()["status"] == "ok"


def test_a_client_that_never_reads_its_answer_is_cut_off(
    headoffice: tuple[HeadOffice, str],
) -> None:
    ho, token = headoffice
    thread = _server(ho, 2.0)
    with thread as url:
        socks = _stalled_readers(thread.port, token)
        try:
            _wait(lambda: _open_to(thread, socks) == READERS)
            _healthy(url, token)
            deadline = time.monotonic() + GIVE_UP_S
            while _open_to(thread, socks) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _open_to(thread, socks) == 0
            _healthy(url, token)  # still serving
            for sock in socks:  # what reaches the client is cut short
                sock.settimeout(10)
                got = b""
                try:
                    while chunk := sock.recv(65536):
                        got += chunk
                except OSError:
                    pass
                head, _, body = got.partition(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                assert len(body) < length  # cut off: the rest was dropped, never sent
        finally:
            for sock in socks:
                sock.close()


def test_without_the_write_deadline_they_stay(headoffice: tuple[HeadOffice, str]) -> None:
    """The control: the same stalled readers on a server without the deadline are all still
    open well after the deadline would have passed."""
    ho, token = headoffice
    thread = _server(ho, None)
    with thread:
        socks = _stalled_readers(thread.port, token)
        try:
            _wait(lambda: _open_to(thread, socks) == READERS)
            time.sleep(8.0)  # four times the deadline the test above uses
            assert _open_to(thread, socks) == READERS
        finally:
            for sock in socks:
                sock.close()
