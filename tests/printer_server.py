"""A network receipt printer on 127.0.0.1: a real TCP server on an ephemeral port.

It records the bytes of every connection, answers Epson real-time status requests (DLE EOT n)
from its current condition, and can misbehave on request: refuse connections, drop the
connection after some bytes (with a TCP reset), stall (stop reading and answering), or report
paper out / cover open.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field

READY, PAPER_OUT, COVER_OPEN = "ready", "paper_out", "cover_open"
# Replies to DLE EOT 1, 2, 4: fixed bits 0x12, plus offline (0x08), cover open (0x04),
# paper-end stop (0x20), paper end sensor (0x60).
STATUS = {
    READY: {1: 0x12, 2: 0x12, 4: 0x12},
    PAPER_OUT: {1: 0x1A, 2: 0x32, 4: 0x72},
    COVER_OPEN: {1: 0x1A, 2: 0x16, 4: 0x12},
}


_PREFIXES = (b"\x1dv0", b"\x1d(k", b"\x1d(L", b"\x10\x04")


@dataclass
class Connection:
    data: bytearray = field(default_factory=bytearray)  # everything but status requests
    status_requests: list[int] = field(default_factory=list)
    closed: bool = False


class FakeNetworkPrinter:
    def __init__(self, timeout: float = 0.5) -> None:
        self.timeout = timeout  # what the till waits for it (the URL's timeout)
        self.condition = READY
        self.drop_after: int | None = None  # reset the connection after this many bytes
        self.stall_after: int | None = None  # stop reading after this many bytes
        self.connections: list[Connection] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self.port = 0
        self.listen()

    # -- control ------------------------------------------------------------------------------

    def listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(8)
        sock.settimeout(0.05)
        self.port = sock.getsockname()[1]
        self._listener = sock
        t = threading.Thread(target=self._accept, args=(sock,), daemon=True)
        t.start()
        self._threads.append(t)

    def refuse(self) -> None:
        """Stop listening: connecting gets 'connection refused' (the printer is off)."""
        sock, self._listener = self._listener, None
        if sock is not None:
            sock.close()
        time.sleep(0.1)  # let the accept thread notice

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}?timeout={self.timeout}&model=TM-T20II&paper=80"

    def close(self) -> None:
        self._stop.set()
        self.refuse()
        for t in self._threads:
            t.join(2)

    @property
    def jobs(self) -> list[bytes]:
        """The bytes of each connection that sent any (status requests left out)."""
        with self._lock:
            return [bytes(c.data) for c in self.connections if c.data]

    # -- serving ------------------------------------------------------------------------------

    def _accept(self, sock: socket.socket) -> None:
        while not self._stop.is_set() and self._listener is sock:
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            record = Connection()
            with self._lock:
                self.connections.append(record)
            t = threading.Thread(target=self._serve, args=(conn, record), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket, record: Connection) -> None:
        conn.settimeout(0.05)
        buf = bytearray()
        skip = 0  # bytes of image data still to copy without parsing
        received = 0
        with conn:
            while not self._stop.is_set():
                if self.stall_after is not None and received >= self.stall_after:
                    time.sleep(0.05)  # stalled: neither reads nor answers
                    continue
                want = 4096 if self.stall_after is None else self.stall_after - received
                try:
                    chunk = conn.recv(min(4096, want))
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                received += len(chunk)
                buf += chunk
                skip = self._parse(buf, skip, record, conn)
                if self.drop_after is not None and received >= self.drop_after:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
        record.closed = True

    def _parse(self, buf: bytearray, skip: int, record: Connection, conn: socket.socket) -> int:
        """Move complete commands from buf to the record; answer DLE EOT. Returns bytes of
        image payload still expected."""
        i = 0
        while i < len(buf):
            if skip:
                n = min(skip, len(buf) - i)
                record.data += buf[i : i + n]
                i += n
                skip -= n
                continue
            rest = bytes(buf[i : i + 8])
            if len(rest) < 3 and any(p.startswith(rest) for p in _PREFIXES):
                break  # a command split across reads: wait for the rest
            if rest.startswith(b"\x1dv0"):
                if len(rest) < 8:
                    break
                xb, h = rest[4] | rest[5] << 8, rest[6] | rest[7] << 8
                record.data += rest
                i += 8
                skip = xb * h
                continue
            if rest.startswith((b"\x1d(k", b"\x1d(L")):
                if len(rest) < 5:
                    break
                record.data += rest[:5]
                i += 5
                skip = rest[3] | rest[4] << 8
                continue
            if rest.startswith(b"\x10\x04"):
                if len(rest) < 3:
                    break
                mode = rest[2]
                record.status_requests.append(mode)
                reply = STATUS[self.condition].get(mode)
                if reply is not None:
                    conn.sendall(bytes([reply]))
                i += 3
                continue
            record.data.append(buf[i])
            i += 1
        del buf[:i]
        return skip
