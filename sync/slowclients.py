"""Slow clients are cut off, at head office (sync/headoffice/serve.py) and at the till's API
for the shop's POS (terminal/pos/serve.py): uvicorn (0.55, h11) has no timeout for reading a
request. Its keep-alive timer only runs between requests and restarts on every byte, and a
connection that sends nothing is never timed out, so a client trickling a byte every few
seconds (or thousands of them) holds its connection for ever (uvicorn issue #157:
--timeout-request-start and --timeout-request-complete were planned, never built).

``guarded_h11(header_s, body_s)`` is uvicorn's own h11 protocol with two deadlines per request:
its headers must be complete ``header_s`` after the connection opened or the request's first
byte arrived, and its body ``body_s`` after the headers. Neither is extended by more bytes;
the time head office takes to answer is not counted. When one passes the connection is closed
(with a 408 when no request is under way). Healthy clients never come near either. It needs
only uvicorn and h11, which the till has (the shopper display and the till API use them), so
it lives outside sync/headoffice, which the till never imports.

Answers have a deadline too. A client that sends its request and then reads the answer slowly,
or not at all (its TCP window full), left uvicorn's handler waiting on flow control and the
answer in memory for as long as the client liked, and ``close()`` after the answer waits for
the buffer to flush, i.e. for ever. Here the transport reports every byte the kernel could not
take (write buffer limits of 0): from then, the client has ``write_s`` plus the time to read
what is waiting at ``min_read_rate`` bytes a second to take all of it; if it has not, the
connection is aborted (``abort``: what is buffered is dropped, the handler's ``send`` returns).
A client that reads at a shop line's speed never meets it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 120.0  # a 32 MB push over a slow shop line still fits
WRITE_TIMEOUT_S = 30.0
MIN_READ_RATE = 64 * 1024  # bytes a second: a 2 MB page of members has 30 s more
_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


class GuardedH11Protocol(H11Protocol):
    header_timeout_s = HEADER_TIMEOUT_S
    body_timeout_s = BODY_TIMEOUT_S
    write_timeout_s: float | None = WRITE_TIMEOUT_S
    min_read_rate = MIN_READ_RATE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: str | None = None  # "head", "body" or None (no request being read)
        self._write_deadline: asyncio.TimerHandle | None = None

    def _arm(self, phase: str, seconds: float) -> None:
        self._disarm()
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = None

    def _follow(self) -> None:
        """Arm, move or drop the deadline by where h11 is in reading the client's request."""
        state = self.conn.their_state
        if state is h11.IDLE:
            if self._phase is None and self.conn.trailing_data[0]:
                self._arm("head", self.header_timeout_s)  # a new request began
        elif state is h11.SEND_BODY:
            if self._phase != "body":
                self._arm("body", self.body_timeout_s)
        else:
            self._disarm()  # the whole request is in (or the connection is over)

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._phase == "head" and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(_TIMED_OUT)
        self.transport.close()

    def _write_expired(self) -> None:
        """The client left part of an answer unread past its deadline: drop it and the
        connection (``close`` would wait for the client to read it)."""
        self._write_deadline = None
        self.transport.abort()

    # -- uvicorn's protocol interface ---------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.write_timeout_s is not None:
            # Told of any byte the kernel did not take. asyncio's TLS transport pauses at a
            # buffer >= high (a plain one at > high): 0 there would pause every answer, even
            # one the kernel took whole, and resume only at a later event (answers hung).
            tls = transport.get_extra_info("sslcontext") is not None
            transport.set_write_buffer_limits(high=1 if tls else 0)
        self._arm("head", self.header_timeout_s)  # a connection that never says anything

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.write_timeout_s is not None and self._write_deadline is None:
            waiting = self.transport.get_write_buffer_size()
            budget = self.write_timeout_s + waiting / self.min_read_rate
            self._write_deadline = self.loop.call_later(budget, self._write_expired)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._write_deadline is not None:  # the client took all of it
            self._write_deadline.cancel()
            self._write_deadline = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self.transport.is_closing():
            self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE:
            self._disarm()  # between requests: uvicorn's keep-alive timer
            self._follow()  # unless a pipelined request is already half in

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._write_deadline is not None:
            self._write_deadline.cancel()
            self._write_deadline = None
        super().connection_lost(exc)


def guarded_h11(
    header_s: float = HEADER_TIMEOUT_S,
    body_s: float = BODY_TIMEOUT_S,
    write_s: float | None = WRITE_TIMEOUT_S,
) -> type[GuardedH11Protocol]:
    """The protocol class for ``uvicorn.Config(http=...)`` with these deadlines (``write_s``
    None: answers have none, as in uvicorn)."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout_s": header_s, "body_timeout_s": body_s, "write_timeout_s": write_s},
    )
