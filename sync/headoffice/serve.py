"""Run the head-office app on a real socket with uvicorn: in the foreground (``serve``, what
``till headoffice serve`` calls), or in a background thread on an ephemeral port
(``ServerThread``, for tests, demos and benchmarks).

``python -m sync.headoffice.serve --db PATH --port N --admin-token T`` runs it as a process and
prints one JSON line (``{"url": ...}``) on stdout once it listens.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import uvicorn

from sync.headoffice.allocator import bound_allocator
from sync.headoffice.app import create_app
from sync.headoffice.dashboard import WordsFor
from sync.headoffice.jobs import EVERY_SECONDS, JobSchedule
from sync.headoffice.service import PUSH_CONCURRENCY, HeadOffice, MintCode
from sync.headoffice.store import open_store
from sync.headoffice.velocity import VELOCITY_LIMIT
from sync.redact import redact, redact_logs
from sync.slowclients import (
    BODY_TIMEOUT_S,
    HEADER_TIMEOUT_S,
    WRITE_TIMEOUT_S,
    guarded_h11,
)


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it; asyncio sets it only on sockets made with
    # proto=IPPROTO_TCP. Without it a small answer can wait ~40 ms for the till's delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def make_headoffice(
    db: str,
    admin_token: str | None,
    program_path: str | None = None,
    mint_code: MintCode | None = None,
    velocity_limit: int = VELOCITY_LIMIT,
    push_concurrency: int = PUSH_CONCURRENCY,
) -> HeadOffice:
    ho = HeadOffice(
        open_store(db), admin_token=admin_token, mint_code=mint_code,
        velocity_limit=velocity_limit, push_concurrency=push_concurrency,
    )  # fmt: skip
    if program_path:
        ho.publish_program(Path(program_path).read_text(encoding="utf-8"))
    return ho


def _config(
    app: Any,
    header_timeout_s: float = HEADER_TIMEOUT_S,
    body_timeout_s: float = BODY_TIMEOUT_S,
    write_timeout_s: float | None = WRITE_TIMEOUT_S,
    **kwargs: Any,
) -> uvicorn.Config:
    """uvicorn's settings, with h11 guarded against slow clients (see slowclients.py)."""
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30,
        http=guarded_h11(header_timeout_s, body_timeout_s, write_timeout_s), **kwargs,
    )  # fmt: skip
    redact_logs()  # after uvicorn set up its handlers
    return config


def serve(
    headoffice: HeadOffice,
    host: str = "127.0.0.1",
    port: int = 8750,
    on_ready: Any = None,
    jobs_every: float = EVERY_SECONDS,
    words: WordsFor | None = None,
    fonts: Path | None = None,
) -> None:
    """Serve until interrupted (``words`` and ``fonts``: the dashboard's texts and fonts,
    dashboard/).
    ``on_ready(url)`` is called once the socket listens. The due
    jobs (expiry, tier review, pending release) run at start and every ``jobs_every`` seconds
    (0: never; run them with ``till headoffice jobs`` instead). glibc's malloc is set for a
    long-running process first (allocator.py: freed memory goes back to the system)."""
    bound_allocator()
    sock = bind(host, port)
    url = f"http://{host}:{sock.getsockname()[1]}"
    server = uvicorn.Server(_config(create_app(headoffice=headoffice, words=words, fonts=fonts)))
    if on_ready is not None:
        threading.Thread(target=_when_started, args=(server, on_ready, url), daemon=True).start()
    schedule = JobSchedule(headoffice, jobs_every).start() if jobs_every > 0 else None
    try:
        server.run(sockets=[sock])
    finally:
        if schedule is not None:
            schedule.stop()
        sock.close()
        headoffice.store.close()


def _when_started(server: uvicorn.Server, on_ready: Any, url: str) -> None:
    while not server.started and not server.should_exit:
        threading.Event().wait(0.02)
    if server.started:
        on_ready(url)


class ServerThread:
    """The app on 127.0.0.1 on a free port, in a thread. ``with ServerThread(ho) as url:``"""

    def __init__(
        self,
        headoffice: HeadOffice,
        port: int = 0,
        header_timeout_s: float = HEADER_TIMEOUT_S,
        body_timeout_s: float = BODY_TIMEOUT_S,
        write_timeout_s: float | None = WRITE_TIMEOUT_S,
        words: WordsFor | None = None,
        fonts: Path | None = None,
    ) -> None:
        self.headoffice = headoffice
        self.sock = bind("127.0.0.1", port)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(headoffice=headoffice, words=words, fonts=fonts)
        self.server = uvicorn.Server(
            _config(app, header_timeout_s, body_timeout_s, write_timeout_s)
        )
        self.thread = threading.Thread(target=self.server.run, args=([self.sock],), daemon=True)

    def start(self) -> str:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("head office server did not start")
            threading.Event().wait(0.01)
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sync.headoffice.serve")
    parser.add_argument("--db", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--admin-token", default=os.environ.get("TILL_HEADOFFICE_ADMIN_TOKEN"))
    parser.add_argument("--program", default=None)
    parser.add_argument(
        "--velocity-limit", type=int, default=VELOCITY_LIMIT,
        help="redemptions by one member in one day that raise a velocity alert",
    )  # fmt: skip
    parser.add_argument(
        "--push-concurrency", type=int, default=PUSH_CONCURRENCY,
        help="pushes this process stores at once (more cores: more)",
    )  # fmt: skip
    parser.add_argument(
        "--jobs-every", type=float, default=EVERY_SECONDS, metavar="SECONDS",
        help="run the due jobs (expiry, tier review) at start and this often; 0: never",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        ho = make_headoffice(
            args.db, args.admin_token, args.program, velocity_limit=args.velocity_limit,
            push_concurrency=args.push_concurrency,
        )  # fmt: skip
    except Exception as exc:  # sqlite3 or psycopg: the driver's own error types
        print(redact(f"cannot open {args.db}: {exc}"), file=sys.stderr)
        return 1

    def ready(url: str) -> None:
        print(json.dumps({"url": url}), flush=True)

    serve(ho, args.host, args.port, on_ready=ready, jobs_every=args.jobs_every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
