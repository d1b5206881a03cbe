"""The write deadline of sync/slowclients.py under TLS (the till API serves HTTPS when the shop
gives it a certificate): a client that sends its request and never reads a large answer is cut
off, while a healthy client is served, and small answers are never held. asyncio's TLS
transport pauses at a buffer >= its high-water mark, a plain one at > it: with the plain
transport's limit of 0 every TLS answer paused and hung. Real sockets on 127.0.0.1, a
certificate made for the test (TEST-ONLY)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sync.slowclients import guarded_h11
from tests.security.test_pos_api_guards import self_signed

BIG = b"x" * 8_000_000  # more than the kernel's buffers on both sides take
READERS = 5
GIVE_UP_S = 25.0  # not a speed claim: without the deadline they stay for ever


async def big(request: Request) -> Response:
    return Response(BIG, media_type="application/octet-stream")


async def small(request: Request) -> Response:
    return Response(b"ok", media_type="text/plain")


def test_a_tls_client_that_never_reads_is_cut_off_and_others_are_served(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    app = Starlette(routes=[Route("/big", big), Route("/small", small)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", http=guarded_h11(5, 5, 2.0),
        ssl_certfile=str(cert), ssl_keyfile=str(key),
    )  # fmt: skip
    config.http.min_read_rate = 1 << 40  # type: ignore[union-attr]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    trusted = ssl.create_default_context(cafile=str(cert))
    stalled = []
    try:
        for _ in range(READERS):
            raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            raw.connect(("127.0.0.1", port))
            tls = trusted.wrap_socket(raw, server_hostname="127.0.0.1")
            tls.sendall(b"GET /big HTTP/1.1\r\nHost: till\r\n\r\n")
            stalled.append(tls)
        url = f"https://127.0.0.1:{port}"
        with httpx.Client(base_url=url, verify=trusted, timeout=60) as healthy:
            for _ in range(20):  # small answers under TLS are never held
                assert healthy.get("/small").text == "ok"
            assert len(healthy.get("/big").content) == len(BIG)
        ports = {s.getsockname()[1] for s in stalled}

        def open_to_stalled() -> int:
            conns = list(server.server_state.connections)
            return sum(1 for c in conns if getattr(c, "client", None) and c.client[1] in ports)  # type: ignore[attr-defined]

        deadline = time.monotonic() + GIVE_UP_S
        while open_to_stalled() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert open_to_stalled() == 0
    finally:
        for s in stalled:
            s.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
