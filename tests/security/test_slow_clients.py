"""Slow clients are cut off while healthy ones are served (issue 20, finding 7: 3,000 slow
connections stayed open). Head office on 127.0.0.1 with short deadlines (1 s for headers, 2 s
for a body); 150 connections that send nothing, trickle their headers, or trickle their body a
byte at a time; meanwhile a healthy client is served, and every slow connection is closed by
head office. The store plays no part in reading requests, so SQLite only."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sync.headoffice.serve import ServerThread
from sync.headoffice.service import HeadOffice
from sync.headoffice.store import open_store
from tests.sync_fixtures import ADMIN, PROGRAM

EACH = 50  # connections of each kind: bounded, the machine is shared
TRICKLE_S = 0.25
GIVE_UP_S = 30.0  # not a speed claim: without the guard they would stay open for ever


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    ho = HeadOffice(open_store(str(tmp_path / "headoffice.sqlite")), admin_token=ADMIN)
    ho.publish_program(PROGRAM)
    token = ho.register_till("T1")
    thread = ServerThread(ho, header_timeout_s=1.0, body_timeout_s=2.0)
    with thread as url:
        yield url, token
    ho.store.close()


def closed_by_peer(sock: socket.socket, replies: dict[socket.socket, bytes]) -> bool:
    try:
        chunk = sock.recv(4096)
    except BlockingIOError:
        return False
    except OSError:
        return True
    replies[sock] = replies.get(sock, b"") + chunk
    return chunk == b""


def test_slow_clients_are_cut_off_and_a_healthy_one_is_served(server: tuple[str, str]) -> None:
    url, token = server
    port = int(url.rsplit(":", 1)[1])
    silent, heads, bodies = [], [], []
    for kind in (silent, heads, bodies):
        for _ in range(EACH):
            kind.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    for sock in heads:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: ho\r\n")
    for sock in bodies:
        sock.sendall(
            b"POST /v1/push HTTP/1.1\r\nHost: ho\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n".encode()
        )
    open_ = set(silent + heads + bodies)
    for sock in open_:
        sock.setblocking(False)  # a round over every connection never waits on one
    replies: dict[socket.socket, bytes] = {}
    served = []
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=10, trust_env=False) as healthy:
        while open_ and time.monotonic() - started < GIVE_UP_S:
            for sock in list(open_):
                if closed_by_peer(sock, replies):
                    open_.discard(sock)
                    continue
                try:
                    sock.send(b"X-Slow: 1\r\n"[:1] if sock in heads else b"{")
                except OSError:
                    open_.discard(sock)
            served.append(healthy.get("/v1/health").status_code)
            served.append(
                healthy.get("/v1/alerts", headers={"Authorization": f"Bearer {ADMIN}"}).status_code
            )
            time.sleep(TRICKLE_S)
    stuck = len(open_)
    for sock in silent + heads + bodies:
        sock.close()
    assert stuck == 0, f"{stuck} slow connections still open after {GIVE_UP_S} s"
    assert served and set(served) == {200}, served
    assert all(replies.get(s, b"").startswith(b"HTTP/1.1 408") for s in silent + heads)


def test_a_healthy_client_is_never_cut_between_or_during_requests(
    server: tuple[str, str],
) -> None:
    url, token = server
    with httpx.Client(base_url=url, timeout=10, trust_env=False) as client:
        for _ in range(8):  # one kept-alive connection, idle longer than both deadlines
            assert client.get("/v1/health").status_code == 200
            time.sleep(0.5)
        body = b'{"terminal_id": "T1", "entries": []}' + b" " * 200_000
        answer = client.post("/v1/push", content=body, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code < 500, answer.text
