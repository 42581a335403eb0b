"""Http11Transport: the SDK's own HTTP/1.1 transport, on anyio streams and h11.

httpcore, httpx's transport, costs most of a request's CPU time: its pool places each request
with a scan over every request and connection (quadratic under concurrency), and each
connection carries locks, events and tracing. The SDK only ever sends small requests to one
origin, so this transport keeps a plain stack of idle connections and sends each request
in one write.
"""

from __future__ import annotations

import select
import socket
import ssl
import time
from types import TracebackType
from typing import Final

import anyio
import anyio.abc
import h11
import httpx

__all__ = ["Http11Transport"]

_READ_SIZE: Final = 65_536
_Event = h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class _Connection:
    """One socket and the h11 state of the exchange on it."""

    __slots__ = ("h11", "idle_since", "socket", "stream")

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self.stream = stream
        self.socket = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)  # noqa: S610 - not Django
        self.h11 = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0

    def is_stale(self, now: float, keepalive_expiry: float) -> bool:
        """Whether an idle connection should not be reused: expired, or closed by the peer."""
        if now - self.idle_since > keepalive_expiry:
            return True
        # An idle socket that reads has hit EOF (or sent garbage).
        return self.socket is not None and _is_readable(self.socket)

    async def receive_event(self, read_timeout: float | None) -> _Event:
        """The next h11 event, reading from the socket as needed."""
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as failure:  # a malformed or cut-short answer
                raise httpx.RemoteProtocolError(str(failure)) from failure
            if event is not h11.NEED_DATA:
                return event
            with _Guard(read_timeout, httpx.ReadTimeout, httpx.ReadError):
                try:
                    data = await self.stream.receive(_READ_SIZE)
                except anyio.EndOfStream:
                    data = b""
            self.h11.receive_data(data)

    async def aclose(self) -> None:
        """Close the socket without waiting on the peer."""
        await anyio.aclose_forcefully(self.stream)


def _is_readable(sock: socket.socket) -> bool:
    """Whether a read would not block; poll, not select, which fails past descriptor 1023."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)  # Windows: no poll, no such limit
    return bool(readable)


class _Guard:
    """Bounds a socket operation in time and turns its failures into httpx's exceptions.

    A class rather than two `@contextmanager`s: it runs several times per request, and
    generator-based context managers cost more than the rest of the step.

    Args:
        seconds: The time limit; None for none.
        on_timeout: Raised when the limit is reached.
        on_error: Raised for a socket, TLS or stream failure.
    """

    __slots__ = ("_on_error", "_on_timeout", "_scope", "_seconds")

    def __init__(
        self,
        seconds: float | None,
        on_timeout: type[httpx.TimeoutException],
        on_error: type[httpx.TransportError],
    ) -> None:
        self._seconds = seconds
        self._on_timeout = on_timeout
        self._on_error = on_error
        self._scope: anyio.CancelScope | None = None

    def __enter__(self) -> None:
        if self._seconds is not None:
            self._scope = anyio.CancelScope(deadline=anyio.current_time() + self._seconds)
            self._scope.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if self._scope is not None:
            swallowed = self._scope.__exit__(exc_type, exc, traceback)
            if self._scope.cancelled_caught:  # our own deadline, not an outer cancellation
                raise self._on_timeout(f"timed out after {self._seconds} s")
            if swallowed:
                return True
        if isinstance(exc, _IO_FAILURES):
            raise self._on_error(f"{type(exc).__name__}: {exc}") from exc
        return False


_IO_FAILURES: Final = (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError, ssl.SSLError)


class Http11Transport(httpx.AsyncBaseTransport):
    """An HTTP/1.1 transport with keep-alive and a connection limit, for one origin at a time.

    It works on asyncio and trio alike (through anyio), honours httpx's timeout extension
    (connect, read, write, pool), and raises httpx's transport exceptions.

    Args:
        ssl_context: For `https` URLs.
        max_connections: The most connections open at once; more requests wait.
        max_idle: The most idle connections kept for reuse.
        keepalive_expiry: Seconds an idle connection is kept: under the 5 s after which
            uvicorn, for one, closes its side, so that a connection is seldom reused just
            as the server closes it.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        max_connections: int = 100,
        max_idle: int = 20,
        keepalive_expiry: float = 4.0,
    ) -> None:
        self._ssl_context = ssl_context
        self._max_connections = max_connections
        self._max_idle = max_idle
        self._keepalive_expiry = keepalive_expiry
        self._idle: list[_Connection] = []
        self._active = 0
        self._waiters: list[anyio.Event] = []
        self._closed = False

    def one_connection(self) -> Http11Transport:
        """A transport of a single connection with the same SSL context, for one subscription."""
        return Http11Transport(
            ssl_context=self._ssl_context,
            max_connections=1,
            max_idle=1,
            keepalive_expiry=self._keepalive_expiry,
        )

    async def __aenter__(self) -> Http11Transport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the idle connections; busy ones close when their response does."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request and read the response's head; the body streams.

        Raises:
            httpx.TransportError: A connection, protocol or timeout failure.
        """
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        await self._reserve(timeouts.get("pool"))
        try:
            connection = await self._connection(request, timeouts.get("connect"))
        except BaseException:
            self._unreserve()
            raise
        # No retry here, even on a kept-alive connection the peer closed: the request may
        # have been served, and only the caller knows whether it may go twice.
        return await self._exchange(connection, request, timeouts)

    async def _exchange(
        self, connection: _Connection, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> httpx.Response:
        """One request and response head on a reserved connection, which it owns from now."""
        try:
            data = _encode(connection, request, await _request_body(request))
            with _Guard(timeouts.get("write"), httpx.WriteTimeout, httpx.WriteError):
                await connection.stream.send(data)
            event = await _response_head(connection, timeouts.get("read"))
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._discard(connection)
            raise
        return httpx.Response(
            event.status_code,
            headers=event.headers.raw_items(),
            stream=_Body(self, connection, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": event.reason},
        )

    async def _reserve(self, pool_timeout: float | None) -> None:
        """Wait for room under the connection limit, first come first served."""
        if self._active < self._max_connections and not self._waiters:
            self._active += 1  # the usual case: no deadline to set up
            return
        with _Guard(pool_timeout, httpx.PoolTimeout, httpx.PoolTimeout):
            while self._active >= self._max_connections:
                waiter = anyio.Event()
                self._waiters.append(waiter)
                try:
                    await waiter.wait()
                except BaseException:
                    if waiter.is_set():  # woken, but leaving: pass the turn on
                        self._wake_one()
                    else:
                        self._waiters.remove(waiter)
                    raise
        self._active += 1

    def _unreserve(self) -> None:
        self._active -= 1
        self._wake_one()

    def _wake_one(self) -> None:
        if self._waiters:
            self._waiters.pop(0).set()

    async def _connection(
        self, request: httpx.Request, connect_timeout: float | None
    ) -> _Connection:
        """An idle connection still good for use, else a new one."""
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_stale(now, self._keepalive_expiry):
                return connection
            await connection.aclose()
        url = request.url
        port = url.port or _DEFAULT_PORTS.get(url.scheme, 80)
        stream: anyio.abc.ByteStream
        with _Guard(connect_timeout, httpx.ConnectTimeout, httpx.ConnectError):
            if url.scheme == "https":
                stream = await anyio.connect_tcp(
                    url.host, port, ssl_context=self._ssl_context, tls_standard_compatible=False
                )
            else:
                stream = await anyio.connect_tcp(url.host, port)
        return _Connection(stream)

    async def _release(self, connection: _Connection) -> None:
        """A response was read to its end: keep the connection for reuse if it allows."""
        keep = (
            not self._closed
            and connection.h11.our_state is h11.DONE
            and connection.h11.their_state is h11.DONE
            and len(self._idle) < self._max_idle
        )
        if keep:
            connection.h11.start_next_cycle()
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
            self._unreserve()
        else:
            await self._discard(connection)

    async def _discard(self, connection: _Connection) -> None:
        self._unreserve()
        await connection.aclose()


async def _response_head(connection: _Connection, read_timeout: float | None) -> h11.Response:
    """Read up to the final response head, past any 1xx."""
    while True:
        event = await connection.receive_event(read_timeout)
        if isinstance(event, h11.Response):
            return event
        if not isinstance(event, h11.InformationalResponse):
            raise httpx.RemoteProtocolError(f"unexpected {event!r} before a response")


def _encode(connection: _Connection, request: httpx.Request, body: bytes) -> bytes:
    """The request's bytes on the wire, head and body together: one write, no Nagle wait."""
    try:
        head = h11.Request(
            method=request.method, target=request.url.raw_path, headers=request.headers.raw
        )
        data = connection.h11.send(head) or b""
        if body:
            data += connection.h11.send(h11.Data(data=body)) or b""
        return data + (connection.h11.send(h11.EndOfMessage()) or b"")
    except h11.LocalProtocolError as failure:
        raise httpx.LocalProtocolError(str(failure)) from failure


async def _request_body(request: httpx.Request) -> bytes:
    stream = request.stream
    if not isinstance(stream, httpx.AsyncByteStream):
        raise TypeError("an async transport needs an async request body")
    return b"".join([chunk async for chunk in stream])


class _Body(httpx.AsyncByteStream):
    """A response body, read from its connection as it is iterated.

    Read to its end, it hands the connection back for reuse; closed before that, it closes
    the connection. A plain object, not an async generator, so nothing is left for trio to
    warn about when iteration stops early.
    """

    def __init__(self, transport: Http11Transport, connection: _Connection, timeout: float | None):
        self._transport = transport
        self._connection: _Connection | None = connection
        self._timeout = timeout

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        connection = self._connection
        if connection is None:
            raise StopAsyncIteration
        try:
            event = await connection.receive_event(self._timeout)
        except BaseException:
            self._connection = None
            with anyio.CancelScope(shield=True):
                await self._transport._discard(connection)
            raise
        if isinstance(event, h11.Data):
            return bytes(event.data)
        self._connection = None
        if isinstance(event, h11.EndOfMessage):
            await self._transport._release(connection)
            raise StopAsyncIteration
        await self._transport._discard(connection)
        raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} in a response body")

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with anyio.CancelScope(shield=True):
                await self._transport._discard(connection)
