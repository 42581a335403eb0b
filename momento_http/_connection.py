"""One HTTP/1.1 connection, on asyncio's protocols or on anyio's streams (trio).

Both kinds feed the same sans-IO `ResponseReader` and differ only in how bytes move: on
asyncio, the event loop hands them to a `Protocol` (no task switch per read, no stream
layer); elsewhere, an anyio byte stream is read in turn. Every failure leaves as one of
httpx's transport exceptions, with a message in plain words.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import ssl
from functools import partial
from typing import Final, cast

import anyio
import anyio.abc
import anyio.lowlevel
import httpx

from momento_http._guard import Guard
from momento_http._http1 import ProtocolError, ResponseReader
from momento_http._ticket import Ticket
from momento_http._watch import watch_for

__all__ = [
    "AsyncioConnection",
    "Connection",
    "StreamConnection",
    "current_loop",
    "open_connection",
    "protocol_error",
]

_READ_SIZE: Final = 65_536
_HIGH_WATER: Final = 1024 * 1024  # buffered and unread: stop reading from the socket


class Connection:
    """What the transport needs of a connection, whatever moves its bytes.

    Attributes:
        reader: Parses what the server sends.
        loop: The event loop the connection belongs to.
        ticket: The current request's notes, if it has any.
        idle_since: When it was last handed back for reuse.
    """

    __slots__ = ("idle_since", "loop", "reader", "ticket")

    def __init__(self, loop: object) -> None:
        self.reader = ResponseReader()
        self.loop = loop
        self.ticket: Ticket | None = None
        self.idle_since = 0.0

    def is_stale(self, now: float, keepalive_expiry: float) -> bool:
        """Whether an idle connection should not be reused: expired, closed or talking."""
        raise NotImplementedError

    async def send(self, data: bytes, within: float | None) -> None:
        """Write bytes; `within` bounds the wait for the socket to take them."""
        raise NotImplementedError

    async def receive(self, within: float | None) -> None:
        """Wait until more bytes (or the end of the stream) reach the reader, `within` s."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close at once, without waiting on the peer; safe from an ended event loop."""
        raise NotImplementedError


def protocol_error(error: ProtocolError) -> httpx.RemoteProtocolError:
    """Httpx's exception for an answer the reader refused."""
    return httpx.RemoteProtocolError(str(error))


class AsyncioConnection(Connection, asyncio.Protocol):
    """A connection whose bytes asyncio's event loop hands over as they arrive.

    Args:
        loop: The running event loop.
    """

    __slots__ = (
        "_loop",
        "_lost",
        "_read_paused",
        "_transport",
        "_waiter",
        "_watch",
        "_write_paused",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._loop = loop
        self._watch = watch_for(loop)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._lost: BaseException | None = None
        self._read_paused = False
        self._write_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not asyncio.Transport subclasses, but behave alike).
        transport = cast("asyncio.Transport", transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.receive(data)
        if self.ticket is not None:
            self.ticket.heard = True
        if self.reader.buffered > _HIGH_WATER and self._transport is not None:
            self._transport.pause_reading()
            self._read_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.reader.receive_eof()
        self._wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = exc or ConnectionResetError("the connection was closed")
        self.reader.receive_eof()
        self._wake()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self, within: float | None, doing: str) -> None:
        """Wait to be woken; the loop's watch, not a cancel scope, keeps the time limit."""
        loop = self._loop
        waiter = self._waiter = loop.create_future()
        ticket = self.ticket
        seconds, by_deadline = (within, False) if ticket is None else ticket.limit(within)
        if seconds is None:
            await waiter
            return
        expire = partial(self._expire, waiter, doing, seconds, by_deadline)
        tick = self._watch.add(loop.time() + seconds, waiter, expire)
        try:
            await waiter
        finally:
            self._watch.remove(tick, waiter)

    def _expire(
        self, waiter: asyncio.Future[None], doing: str, seconds: float, by_deadline: bool
    ) -> None:
        if waiter.done():
            return
        if by_deadline and self.ticket is not None:
            self.ticket.expired = True
        waiter.set_exception(httpx.ReadTimeout(f"{doing} took longer than {seconds:g} s"))

    def is_stale(self, now: float, keepalive_expiry: float) -> bool:
        expired = now - self.idle_since > keepalive_expiry
        return expired or self._lost is not None or not self.reader.reusable

    async def send(self, data: bytes, within: float | None) -> None:
        transport = self._transport
        if transport is None or self._lost is not None or transport.is_closing():
            raise httpx.WriteError("sending the request failed: the connection is closed")
        transport.write(data)
        while self._write_paused and self._lost is None:
            await self._wait(within, "sending the request")

    async def receive(self, within: float | None) -> None:
        if self._read_paused and self._transport is not None:
            self._read_paused = False
            self._transport.resume_reading()
        if self._lost is not None:
            return  # the reader has had its end of stream
        await self._wait(within, "reading the answer")

    async def aclose(self) -> None:
        if self._transport is not None:
            # "Event loop is closed" when its loop has ended: Python closes it when collected.
            with contextlib.suppress(RuntimeError):
                self._transport.abort()
        await anyio.lowlevel.checkpoint()


class StreamConnection(Connection):
    """A connection read in turn from an anyio byte stream (trio, or any backend).

    Args:
        stream: The connected stream.
        loop: The event loop it belongs to (`anyio.lowlevel.current_token()`).
    """

    __slots__ = ("_socket", "_stream")

    def __init__(self, stream: anyio.abc.ByteStream, loop: object) -> None:
        super().__init__(loop)
        self._stream = stream
        self._socket = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)  # noqa: S610 - not Django

    def is_stale(self, now: float, keepalive_expiry: float) -> bool:
        if now - self.idle_since > keepalive_expiry or not self.reader.reusable:
            return True
        # An idle socket that reads has hit EOF (or sent garbage).
        return self._socket is not None and _is_readable(self._socket)

    async def send(self, data: bytes, within: float | None) -> None:
        doing = "sending the request"
        with Guard(within, httpx.WriteTimeout, httpx.WriteError, doing, self.ticket):
            await self._stream.send(data)

    async def receive(self, within: float | None) -> None:
        doing = "reading the answer"
        with Guard(within, httpx.ReadTimeout, httpx.ReadError, doing, self.ticket):
            try:
                data = await self._stream.receive(_READ_SIZE)
            except anyio.EndOfStream:
                self.reader.receive_eof()
                return
        if self.ticket is not None:
            self.ticket.heard = True
        self.reader.receive(data)

    async def aclose(self) -> None:
        try:
            await anyio.aclose_forcefully(self._stream)
        except RuntimeError:  # "Event loop is closed": nothing more can be done here
            await anyio.lowlevel.checkpoint()


def _is_readable(sock: socket.socket) -> bool:
    """Whether a read would not block; poll, not select, which fails past descriptor 1023."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)  # Windows: no poll, no such limit
    return bool(readable)


async def open_connection(
    host: str, port: int, tls: ssl.SSLContext | None, within: float | None, ticket: Ticket | None
) -> Connection:
    """Connect, over TLS when given a context, in `within` seconds.

    Raises:
        httpx.ConnectError: The connection could not be made.
        httpx.ConnectTimeout: Not in time.
    """
    connection: Connection | None = None
    doing = f"connecting to {host}:{port}"
    with Guard(within, httpx.ConnectTimeout, httpx.ConnectError, doing, ticket):
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio: trio, through anyio
            connection = await _open_stream(host, port, tls)
        else:
            hostname = host if tls is not None else None
            _, connection = await loop.create_connection(
                lambda: AsyncioConnection(loop), host, port, ssl=tls, server_hostname=hostname
            )
    assert connection is not None
    return connection


async def _open_stream(host: str, port: int, tls: ssl.SSLContext | None) -> StreamConnection:
    stream: anyio.abc.ByteStream
    if tls is None:
        stream = await anyio.connect_tcp(host, port)
    else:
        stream = await anyio.connect_tcp(host, port, ssl_context=tls, tls_standard_compatible=False)
    return StreamConnection(stream, anyio.lowlevel.current_token())


def current_loop() -> object:
    """The running event loop, as connections record it."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return anyio.lowlevel.current_token()
