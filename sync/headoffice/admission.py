"""How many pushes a head office process holds in memory at once. A push's gzip body is about
0.4 MB; inflated it is about 3 MB of JSON, and decoded some 10 MB of entries. Only
``PUSH_CONCURRENCY`` pushes are stored at once, but with 32 tills connected a process used to
inflate and decode every waiting body first: 260 MB peak RSS against 98 MB with 4 tills
connected, at the same rate (bench/chain.py --concurrency 32 / 4). A waiting push now keeps
only its gzip body: it is inflated and decoded once admitted, and ``Admission`` admits twice
as many pushes as are stored at once (one being decoded while the other is stored).
"""

from __future__ import annotations

import threading
import zlib
from types import TracebackType

from sync import protocol as p
from sync.headoffice.rows import ApiProblem


def inflate(raw: bytes, encoding: str) -> bytes:
    """A request body as sent (``Content-Encoding``: gzip or identity), within the size limit."""
    encoding = encoding.lower()
    if encoding == "gzip":
        inflater = zlib.decompressobj(wbits=31)
        try:
            data = inflater.decompress(raw, p.MAX_BODY_BYTES + 1)
        except zlib.error:
            raise ApiProblem(400, "malformed_gzip") from None
        if len(data) > p.MAX_BODY_BYTES or inflater.unconsumed_tail:
            raise ApiProblem(413, "body_too_large", limit=p.MAX_BODY_BYTES)
        return data
    if encoding not in ("identity", ""):
        raise ApiProblem(415, "unsupported_encoding", encoding=encoding[:20])
    return raw


class Admission:
    """A bounded number of holders at once; ``admitted`` and ``waiting`` say how many now,
    ``peak`` the most admitted at once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.admitted = 0
        self.waiting = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self._lock:
            self.waiting += 1
        self._slots.acquire()
        with self._lock:
            self.waiting -= 1
            self.admitted += 1
            self.peak = max(self.peak, self.admitted)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._lock:
            self.admitted -= 1
        self._slots.release()
