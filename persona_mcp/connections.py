"""Connection-level limits below the ASGI app, where uvicorn sets none: a request head (request
line and headers) must arrive within a time limit and a size limit, and one client address may
hold only so many connections at once.

Without these, a client that sends `POST /mcp HTTP/1.1\\r\\n` and then nothing holds a socket for
ever (uvicorn's timers start only once the head is complete), a few hundred such sockets exhaust
the process's file descriptors, and a header of a few megabytes is buffered whole by the parser
(uvicorn's httptools parser ignores `h11_max_incomplete_event_size`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import ClassVar

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

__all__ = ["MAX_HEAD_BYTES", "guarded_protocol"]

logger = logging.getLogger(__name__)

# Request line plus headers. Real MCP clients send well under 8 KiB; browsers cap cookies at 4 KiB each.
MAX_HEAD_BYTES = 64 * 1024
# After refusing a request the server stops sending and discards what still arrives for this long
# before closing: closing a socket with unread data makes the kernel reset the connection, and the
# reset can destroy the refusal before the client reads it.
LINGER_SECONDS = 2.0


class _GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size cap on each request head and a cap
    on connections per client address. `guarded_protocol` sets the class attributes."""

    head_seconds: ClassVar[float] = 30.0
    max_per_client: ClassVar[int] = 0  # 0: no cap
    open_by_client: ClassVar[Counter[str]]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._in_head = True
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._counted: str | None = None
        self._discarding = False
        host = self.client[0] if self.client else None
        if host is not None and self.max_per_client:
            if self.open_by_client[host] >= self.max_per_client:
                logger.info("refused a connection from %s: %d already open", host, self.max_per_client)
                self._refuse(
                    503, "Too many connections from your address; close some and retry.", linger=False
                )
                return
            self.open_by_client[host] += 1
            self._counted = host
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        if self._counted is not None:
            self.open_by_client[self._counted] -= 1
            if self.open_by_client[self._counted] <= 0:
                del self.open_by_client[self._counted]
            self._counted = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        if not self._in_head:
            super().data_received(data)
            return
        room = MAX_HEAD_BYTES - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        # Parse only up to the limit: if the head ends in there, the rest (a body, or the next
        # request) goes on as usual; if not, the head is too large and nothing more is buffered.
        self._head_bytes = MAX_HEAD_BYTES
        super().data_received(data[:room])
        if self.transport.is_closing() or self._discarding:
            return
        if self._in_head:
            logger.info("refused a request head over %d bytes from %s", MAX_HEAD_BYTES, self._who())
            self._refuse(431, f"The request line and headers are larger than {MAX_HEAD_BYTES} bytes.")
            return
        super().data_received(data[room:])

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:  # the next request on a kept-alive connection
            self._in_head = True
            self._head_bytes = 0
            self._start_head_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._stop_head_timer()
        super().on_headers_complete()

    def _start_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_seconds, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing() and not self._discarding:
            logger.info("closed a connection from %s: no complete request head in time", self._who())
            self._refuse(408, "The request line and headers did not arrive in time.")

    def _who(self) -> str:
        return self.client[0] if self.client else "an unknown address"

    def _refuse(self, status: int, message: str, linger: bool = True) -> None:
        """Answer `status` and end the connection: at once, or after discarding what the client
        still sends for LINGER_SECONDS, so it can read the answer."""
        body = orjson.dumps({"error": status, "message": message})
        self.transport.write(
            STATUS_LINE[status]
            + b"content-type: application/json\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\nconnection: close\r\n\r\n"
            + body
        )
        if not linger or not self.transport.can_write_eof():
            self.transport.close()
            return
        self._discarding = True
        self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


def guarded_protocol(head_seconds: float, max_per_client: int) -> type[HttpToolsProtocol]:
    """A protocol class for `uvicorn.Config(http=...)` with these limits and its own count of
    open connections per address (one per server, so two servers in a process never share it)."""
    return type(
        "GuardedHttpToolsProtocol",
        (_GuardedProtocol,),
        {"head_seconds": head_seconds, "max_per_client": max_per_client, "open_by_client": Counter()},
    )
