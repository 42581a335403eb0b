"""Connections: a cap on how many are served, a deadline for each request's head, a way to cut one.

uvicorn serves each connection through an asyncio protocol object. `ConnectionGuard.protocol`
wraps uvicorn's own (given as `uvicorn.Config(http=...)`), so the guard sees every connection
open and close, through asyncio's public API, without touching uvicorn's insides. The app
tells the guard when a request's head has arrived (uvicorn calls the app) and when its answer
is done, naming the connection by the ASGI scope's `client` address.

- Past `max_connections`, a new connection is answered `503` and closed; the answer is sent
  before its request is read, and the request read and dropped until the client closes (or
  a second passes), so that closing does not reset the connection under the answer.
- A connection has `head_timeout` seconds to send a request's head from when it opens or its
  last answer ends; past it, it is answered `408` (if it sent anything) and closed.
- When the process runs out of file descriptors, asyncio logs a traceback for every failed
  accept, thousands a second; the guard logs one line every ten seconds instead.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from typing import Any, cast

from momento_http.local._lingering import LINGER_SECONDS, LingeringTransport

__all__ = ["ConnectionGuard", "default_max_connections"]

_log = logging.getLogger("momento_http.local")

_Client = tuple[str, int]


def _answer(status: bytes, body: bytes, *extra: bytes) -> bytes:
    head = [b"HTTP/1.1 " + status, b"content-type: text/plain; charset=utf-8", *extra]
    head += [b"connection: close", b"content-length: %d" % len(body)]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


_REFUSAL = _answer(
    b"503 Service Unavailable", b"the local server has too many connections", b"retry-after: 1"
)
_TOO_SLOW = _answer(b"408 Request Timeout", b"the request's head took too long to arrive")
_MAX_LINGERING = 64  # refused connections waiting for their client to close
_RESERVED_FDS = _MAX_LINGERING + 32  # lingering ones, the listening socket, logs, the loop
_LOG_EVERY = 10.0


def default_max_connections() -> int:
    """As many connections as the open-file limit leaves room for, beside a reserve."""
    if sys.platform == "win32":  # no such limit to read
        return 10_000
    import resource  # noqa: PLC0415 - POSIX only

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 100_000
    return max(16, soft - _RESERVED_FDS)


class _Throttled:
    """A warning logged at most once every ten seconds, counting what it left out."""

    def __init__(self, message: str) -> None:
        self._message = message
        self._last = -_LOG_EVERY
        self._left_out = 0

    def __call__(self, *args: object) -> None:
        now = time.monotonic()
        if now - self._last < _LOG_EVERY:
            self._left_out += 1
            return
        self._last = now
        left_out, self._left_out = self._left_out, 0
        _log.warning(self._message + " (%d more like it not shown)", *args, left_out)


def _client(transport: asyncio.BaseTransport) -> _Client | None:
    """The connection's peer, in the form uvicorn gives the ASGI scope's `client`."""
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple | list) and len(peer) >= 2:  # noqa: PLR2004 - IPv6 has four
        return str(peer[0]), int(peer[1])
    return None


class _Connection:
    __slots__ = ("closer", "heard", "transport", "waiting_since")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.closer: asyncio.Transport = transport  # closes gently, once the protocol has it
        self.waiting_since: float | None = time.monotonic()  # None: a request is under way
        self.heard = False  # whether bytes came since waiting_since


class ConnectionGuard:
    """Watches every connection the server serves.

    Args:
        max_connections: The most connections served at once.
        head_timeout: Seconds a connection has to send a request's head.
    """

    def __init__(self, *, max_connections: int, head_timeout: float) -> None:
        self.max_connections = max_connections
        self.stopping = False
        """Set when the server stops: connections then close at once, without lingering."""
        self._head_timeout = head_timeout
        self._open: dict[_Client, _Connection] = {}
        self._lingering: set[asyncio.Transport] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        self._refused = _Throttled("refused a connection: %d are open, the most this server serves")
        self._out_of_fds = _Throttled("cannot accept connections: %s")

    def __len__(self) -> int:
        return len(self._open)

    def protocol(self, inner: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
        """A protocol class for `uvicorn.Config(http=...)` that serves through `inner`."""
        guard = self

        class GuardedProtocol(_GuardedProtocol):
            def __init__(self, **kwargs: Any) -> None:
                super().__init__(guard, lambda: inner(**kwargs))

        return GuardedProtocol

    def started(self) -> None:
        """Start watching; call on the server's event loop once it runs."""
        loop = asyncio.get_running_loop()
        previous = loop.get_exception_handler()

        def on_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            if context.get("message") == "socket.accept() out of system resource":
                self._out_of_fds(context.get("exception"))
            elif previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)

        loop.set_exception_handler(on_error)
        if self._head_timeout < float("inf"):
            self._sweep()

    def stopped(self) -> None:
        """Stop watching and close refused connections still open; call on the event loop."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for transport in [*self._lingering]:
            transport.abort()

    def request_started(self, client: _Client | None) -> None:
        """A request's head arrived on the connection from `client`."""
        connection = self._open.get(client) if client is not None else None
        if connection is not None:
            connection.waiting_since = None

    def request_finished(self, client: _Client | None) -> None:
        """The answer to the request on the connection from `client` is done."""
        connection = self._open.get(client) if client is not None else None
        if connection is not None:
            connection.waiting_since = time.monotonic()
            connection.heard = False

    def abort(self, client: _Client | None) -> bool:
        """Cut the connection from `client` at once; False when there is no such connection."""
        connection = self._open.get(client) if client is not None else None
        if connection is None:
            return False
        connection.transport.abort()
        return True

    def admit(self, transport: asyncio.Transport) -> tuple[bool, _Connection | None]:
        """Take a new connection in, or answer it 503 when full.

        Returns:
            Whether to serve it, and its record (None for a connection not over TCP,
            served unwatched).
        """
        client = _client(transport)
        if client is None:
            return True, None
        if len(self._open) >= self.max_connections:
            self._refuse(transport)
            return False, None
        connection = _Connection(transport)
        self._open[client] = connection
        return True, connection

    def forget(self, transport: asyncio.Transport) -> None:
        """A connection closed."""
        self._lingering.discard(transport)
        client = _client(transport)
        found = self._open.get(client) if client is not None else None
        if found is not None and found.transport is transport:
            del self._open[client]  # type: ignore[arg-type]

    def _refuse(self, transport: asyncio.Transport) -> None:
        self._refused(len(self._open))
        if len(self._lingering) >= _MAX_LINGERING:
            transport.abort()
            return
        transport.write(_REFUSAL)
        try:
            transport.write_eof()  # half-closed: it reads on, so closing will not reset the answer
        except OSError:  # the client is gone already
            transport.abort()
            return
        self._lingering.add(transport)
        asyncio.get_running_loop().call_later(LINGER_SECONDS, transport.abort)

    def _sweep(self) -> None:
        now = time.monotonic()
        late = [
            c
            for c in self._open.values()
            if c.waiting_since is not None and now - c.waiting_since >= self._head_timeout
        ]
        for connection in late:
            connection.waiting_since = None
            if connection.heard:  # it may be sending still: answer, and close gently
                connection.closer.write(_TOO_SLOW)
                connection.closer.close()
            else:
                connection.transport.close()
        period = min(1.0, self._head_timeout / 4)
        self._sweeper = asyncio.get_running_loop().call_later(period, self._sweep)


class _GuardedProtocol(asyncio.Protocol):
    """Serves one connection through uvicorn's protocol, if the guard admits it."""

    def __init__(self, guard: ConnectionGuard, make_inner: Callable[[], asyncio.Protocol]) -> None:
        self._guard = guard
        self._make_inner = make_inner
        self._inner: asyncio.Protocol | None = None
        self._connection: _Connection | None = None
        self._transport: asyncio.Transport | None = None
        self._gentle: LingeringTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not asyncio.Transport subclasses, but behave alike).
        transport = cast("asyncio.Transport", transport)
        self._transport = transport
        served, self._connection = self._guard.admit(transport)
        if not served:
            return
        self._inner = self._make_inner()
        if self._connection is None:
            self._inner.connection_made(transport)
            return
        self._gentle = LingeringTransport(transport, self._client_may_send)
        self._connection.closer = self._gentle
        self._inner.connection_made(self._gentle)

    def _client_may_send(self) -> bool:
        connection = self._connection
        busy = connection is not None and (connection.waiting_since is None or connection.heard)
        return busy and not self._guard.stopping

    def data_received(self, data: bytes) -> None:
        if self._inner is None or (self._gentle is not None and self._gentle.closing):
            return  # refused, or closing: read and drop what the client still sends
        if self._connection is not None and self._connection.waiting_since is not None:
            self._connection.heard = True
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        if self._inner is None or (self._gentle is not None and self._gentle.closing):
            return False  # the client is done too: close
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._guard.forget(self._transport)
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()
