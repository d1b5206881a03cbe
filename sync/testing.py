"""Real parts for tests, demos and benchmarks of sync: a throw-away PostgreSQL from the
machine's packages, head office as a separate process, and a fault-injecting TCP proxy.

Nothing here is a mock: the proxy forwards real HTTP bytes between a real client and a real
server and breaks them on purpose (drop the answer after head office committed, reset the
connection, answer 500 or 429 itself, stall). Loopback only.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# -- PostgreSQL ------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(versions[0]).parent if versions else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class TempPostgres:
    """``initdb`` + ``pg_ctl start`` in a temp dir on 127.0.0.1 and a free port; ``stop()``
    removes everything. As root, the server runs as the ``postgres`` user (initdb refuses
    root). Raises ``RuntimeError`` with the reason when it cannot start.

    ``settings``: server settings beyond the defaults (``{"shared_buffers": "4GB"}`` for a
    benchmark whose tables outgrow the default 128 MB, as a chain's server would be set up)."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        bindir = postgres_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (no initdb found)")
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="till-pg-"))
        self.port = free_port()
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no postgres user") from None
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root and runuser is missing")
            self._prefix = [runuser, "-u", "postgres", "--"]
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync", "--no-instructions")  # fmt: skip
        options = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -F -c fsync=off"
        options += "".join(f" -c {k}={v}" for k, v in (settings or {}).items())
        self._run("pg_ctl", "-D", str(data), "-o", options, "-w", "-t", "30",
                  "-l", str(self.dir / "log"), "start")  # fmt: skip
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._n = 0

    def _run(self, tool: str, *args: str) -> None:
        cmd = [*self._prefix, str(self.bindir / tool), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=self.dir)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stderr.strip()[-500:]}")

    def new_database(self) -> str:
        """A fresh empty database; its URL."""
        import psycopg

        self._n += 1
        name = f"t{os.getpid()}_{self._n}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def empty_database(self, name: str = "sync_tests") -> str:
        """The same database each time, emptied (faster than CREATE DATABASE per test)."""
        import psycopg

        url = self.url.rsplit("/", 1)[0] + f"/{name}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if exists.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        return url

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


# -- head office as a process ------------------------------------------------------------------


class ServerProcess:
    """``python -m sync.headoffice.serve`` in a child process (so a test can kill it)."""

    def __init__(
        self,
        db: str,
        admin_token: str,
        port: int = 0,
        program: str | None = None,
        log: Path | None = None,
    ):
        """``log``: a file for the server's stderr (else it shares ours); when the server
        exits before listening, the RuntimeError then carries its last line (the reason)."""
        self.db, self.admin_token, self.program, self.log = db, admin_token, program, log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 30.0) -> str:
        # --admin-token=T, one argument: a random token may start with "-" (token_urlsafe, one
        # in 64), which argparse would take for an option ("expected one argument").
        cmd = [sys.executable, "-m", "sync.headoffice.serve", "--db", self.db,
               "--port", str(self.port), f"--admin-token={self.admin_token}"]  # fmt: skip
        if self.program:
            cmd += ["--program", self.program]
        with contextlib.ExitStack() as stack:
            err = stack.enter_context(self.log.open("a")) if self.log is not None else None
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout)
            self._close_pipe()
            why = self._last_error() or f"head office exited with {self.proc.returncode}"
            raise RuntimeError(why)
        self.url = json.loads(line)["url"]
        return self.url

    def _last_error(self) -> str:
        if self.log is None:
            return ""
        lines = [x.strip() for x in self.log.read_text(errors="replace").splitlines()]
        return next((x for x in reversed(lines) if x), "")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, like a power cut of the server process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_pipe()


# -- a fault-injecting proxy -------------------------------------------------------------------


@dataclass
class Fault:
    """What to do to the next ``times`` requests whose path starts with ``path``:

    - ``drop``: forward the request, wait until head office starts answering (it committed),
      then close the till's connection without passing the answer on;
    - ``reset``: close the till's connection with a TCP reset before forwarding anything;
    - ``respond``: answer ``raw`` (a whole HTTP response) without forwarding;
    - ``stall``: forward, then hold the answer ``seconds`` before passing it on;
    - ``truncate``: forward, then pass on only the first half of the answer and close.
    """

    path: str
    kind: str
    times: int = 1
    raw: bytes = b""
    seconds: float = 0.0


def http_response(status: int, reason: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _read_message(sock: socket.socket, buf: bytearray) -> bytes | None:
    """One HTTP/1.1 message with a Content-Length body (what httpx and uvicorn send here)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head_end = buf.index(b"\r\n\r\n") + 4
    length = 0
    for line in bytes(buf[:head_end]).split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(buf) < head_end + length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    message = bytes(buf[: head_end + length])
    del buf[: head_end + length]
    return message


class FaultProxy:
    """127.0.0.1:<free port> -> ``target`` (host, port), breaking requests as told."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.faults: list[Fault] = []
        self.applied: list[str] = []
        self.keys: set[bytes] = set()  # Idempotency-Keys forwarded to head office
        self.replayed = 0  # pushes head office saw again (the same key forwarded twice)
        self.lock = threading.Lock()
        self._stop = False
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def add(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def _take(self, request: bytes) -> Fault | None:
        line = request.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        path = parts[1] if len(parts) > 1 else ""
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and path.startswith(fault.path):
                    fault.times -= 1
                    self.applied.append(f"{fault.kind} {path.split('?')[0]}")
                    return fault
        return None

    def _seen(self, request: bytes) -> None:
        head = request.split(b"\r\n\r\n", 1)[0].lower()
        for line in head.split(b"\r\n"):
            if line.startswith(b"idempotency-key:"):
                key = line.split(b":", 1)[1].strip()
                with self.lock:
                    self.replayed += key in self.keys
                    self.keys.add(key)

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self._conns.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        cbuf, ubuf = bytearray(), bytearray()
        try:
            while True:
                request = _read_message(client, cbuf)
                if request is None:
                    return
                fault = self._take(request)
                if fault is not None and fault.kind == "reset":
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if fault is not None and fault.kind == "respond":
                    client.sendall(fault.raw)
                    continue
                if upstream is None:
                    upstream = socket.create_connection(self.target, timeout=60)
                    self._conns.append(upstream)
                upstream.sendall(request)
                self._seen(request)
                answer = _read_message(upstream, ubuf)
                if answer is None:
                    return
                if fault is not None and fault.kind == "drop":
                    return
                if fault is not None and fault.kind == "truncate":
                    client.sendall(answer[: len(answer) // 2])
                    return
                if fault is not None and fault.kind == "stall":
                    time.sleep(fault.seconds)
                client.sendall(answer)
        except OSError:
            return
        finally:
            for s in (client, upstream):
                if s is not None:
                    with contextlib.suppress(OSError):
                        s.close()

    def close(self) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            self.listener.close()
        for s in self._conns:
            with contextlib.suppress(OSError):
                s.close()


@contextlib.contextmanager
def temp_postgres() -> Iterator[TempPostgres]:
    pg = TempPostgres()
    try:
        yield pg
    finally:
        pg.stop()
