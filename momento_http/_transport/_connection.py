"""One HTTP/1.1 connection, on asyncio's protocols or on anyio's streams (trio).

Both kinds feed the same sans-IO `ResponseReader` and differ only in how bytes move: on
asyncio, the event loop hands them to a `Protocol` (no task switch per read, no stream
layer); elsewhere, an anyio byte stream is read in turn. Every wait is bounded by the try's
one deadline (the request state's), and every failure leaves as one of httpx's transport
exceptions, the same on either kind, with a message in plain words.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import ssl
from typing import Final, TypeAlias, cast

import anyio
import anyio.abc
import anyio.lowlevel
import httpx
from anyio.streams.tls import TLSAttribute, TLSStream

from momento_http._transport._exceptions import Operation, plain_reason
from momento_http._transport._http11 import ResponseReader
from momento_http._transport._proxy import Origin, Proxy
from momento_http._transport._state import RequestState

__all__ = [
    "AsyncioConnection",
    "Connection",
    "StreamConnection",
    "current_loop",
]

_READ_SIZE: Final = 65_536
_HIGH_WATER: Final = 1024 * 1024  # buffered and unread: stop reading from the socket
_SENDING: Final = "sending the request"
_READING: Final = "reading the answer"


class AsyncioConnection(asyncio.Protocol):
    """A connection whose bytes asyncio's event loop hands over as they arrive.

    Args:
        loop: The running event loop.

    Attributes:
        reader: Parses what the server sends.
        loop: The event loop the connection belongs to.
        state: The current request's state, if it has one.
        idle_since: When it was last handed back for reuse.
        origin: Where it goes.
    """

    __slots__ = (
        "_lost",
        "_read_paused",
        "_transport",
        "_waiter",
        "_write_paused",
        "forward",
        "idle_since",
        "loop",
        "origin",
        "reader",
        "state",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.reader = ResponseReader()
        self.loop = loop
        self.state: RequestState | None = None
        self.idle_since = 0.0
        self.origin: Origin = (b"", b"", 0)
        self.forward: Proxy | None = None
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._lost: BaseException | None = None
        self._read_paused = False
        self._write_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not asyncio.Transport subclasses, but behave alike).
        self._transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        self.reader.receive(data)
        if self.state is not None:
            self.state.response_started = True
        if self.reader.buffered > _HIGH_WATER and self._transport is not None:
            self._transport.pause_reading()
            self._read_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.reader.receive_eof()
        self._wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        # A clean close is the end of the stream; a failure (a reset) is a read error, as
        # trio reports it: what arrived before it has been read already.
        self._lost = exc or ConnectionResetError("the connection was closed")
        if exc is None:
            self.reader.receive_eof()
        self._wake()

    async def start_tls(self, tls: ssl.SSLContext, hostname: str) -> None:
        """Speak TLS from now on (inside a proxy's tunnel), verifying `hostname`."""
        assert self._transport is not None
        upgraded = await self.loop.start_tls(self._transport, self, tls, server_hostname=hostname)
        assert upgraded is not None
        self._transport = upgraded
        self.reader = ResponseReader()

    @property
    def alpn_protocol(self) -> str | None:
        """The protocol the server chose through TLS's ALPN, if any."""
        ssl_object = self._transport.get_extra_info("ssl_object") if self._transport else None
        return ssl_object.selected_alpn_protocol() if ssl_object is not None else None

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(
        self, within: float | None, on_timeout: type[httpx.TimeoutException], doing: str
    ) -> None:
        """Wait to be woken, for `within` seconds or until the try's deadline."""
        loop = self.loop
        state = self.state
        seconds, by_deadline = (within, False) if state is None else state.limit(within)
        if seconds is not None and seconds <= 0:  # already past: no wait, whatever comes
            _expire(state, by_deadline)
            raise on_timeout(f"{doing} ran out of time")
        waiter = self._waiter = loop.create_future()
        if seconds is None:
            await waiter
            return
        timer = loop.call_at(loop.time() + seconds, _time_out, waiter)
        try:
            await waiter
        except asyncio.TimeoutError:
            _expire(state, by_deadline)
            raise on_timeout(f"{doing} took longer than {seconds:g} s") from None
        finally:
            timer.cancel()

    def is_stale(self, now: float, keepalive_expiry: float) -> bool:
        """Whether an idle connection may not carry another request.

        True when it has expired, is closed, or has anything unread: in the reader, or in
        the socket before the event loop has delivered it (an answer nobody asked for).
        """
        if now - self.idle_since > keepalive_expiry or self._lost is not None:
            return True
        if not self.reader.reusable or self._transport is None:
            return True
        sock = self._transport.get_extra_info("socket")
        return sock is None or _is_readable(sock.fileno())

    async def send(self, data: bytes, within: float | None) -> None:
        """Write bytes; `within` bounds the wait for the socket to take them."""
        transport = self._transport
        if transport is None or self._lost is not None or transport.is_closing():
            raise httpx.WriteError(f"{_SENDING} failed: the connection is closed")
        transport.write(data)
        while self._write_paused and self._lost is None:
            await self._wait(within, httpx.WriteTimeout, _SENDING)
        if transport.is_closing():  # the write failed: the loss is reported next turn
            while self._lost is None:
                await self._wait(within, httpx.WriteTimeout, _SENDING)
            raise httpx.WriteError(f"{_SENDING} failed: {plain_reason(self._lost)}")

    async def receive(self, within: float | None) -> None:
        """Wait until more bytes (or the end of the stream) reach the reader."""
        if self._read_paused and self._transport is not None:
            self._read_paused = False
            self._transport.resume_reading()
        if self._lost is not None:
            if not self.reader.eof:
                raise httpx.ReadError(f"{_READING} failed: {plain_reason(self._lost)}")
            return  # the reader has had its end of stream
        await self._wait(within, httpx.ReadTimeout, _READING)

    async def aclose(self) -> None:
        """Close at once, without waiting on the peer; safe from an ended event loop."""
        if self._transport is not None:
            # "Event loop is closed" when its loop has ended: Python closes it when collected.
            with contextlib.suppress(RuntimeError):
                self._transport.abort()
        await anyio.lowlevel.checkpoint()


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(asyncio.TimeoutError())


def _expire(state: RequestState | None, by_deadline: bool) -> None:
    if by_deadline and state is not None:
        state.timed_out = True


class StreamConnection:
    """A connection read in turn from an anyio byte stream (trio, or any backend).

    Args:
        stream: The connected stream.
        loop: The event loop it belongs to (`anyio.lowlevel.current_token()`).

    Attributes:
        reader: Parses what the server sends.
        loop: The event loop the connection belongs to.
        state: The current request's state, if it has one.
        idle_since: When it was last handed back for reuse.
        origin: Where it goes.
    """

    __slots__ = ("_socket", "_stream", "forward", "idle_since", "loop", "origin", "reader", "state")

    def __init__(self, stream: anyio.abc.ByteStream, loop: object) -> None:
        self.reader = ResponseReader()
        self.loop = loop
        self.state: RequestState | None = None
        self.idle_since = 0.0
        self.origin: Origin = (b"", b"", 0)
        self.forward: Proxy | None = None
        self._stream = stream
        self._socket = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)  # noqa: S610 - not Django

    def is_stale(self, now: float, keepalive_expiry: float) -> bool:
        """Whether an idle connection may not carry another request.

        True when it has expired, or has anything unread: in the reader, or in the socket
        (an answer nobody asked for, or the end of the stream).
        """
        if now - self.idle_since > keepalive_expiry or not self.reader.reusable:
            return True
        return self._socket is None or _is_readable(self._socket.fileno())

    async def start_tls(self, tls: ssl.SSLContext, hostname: str) -> None:
        """Speak TLS from now on (inside a proxy's tunnel), verifying `hostname`."""
        self._stream = await TLSStream.wrap(
            self._stream, hostname=hostname, ssl_context=tls, standard_compatible=False
        )
        self.reader = ResponseReader()

    @property
    def alpn_protocol(self) -> str | None:
        """The protocol the server chose through TLS's ALPN, if any."""
        return self._stream.extra(TLSAttribute.alpn_protocol, None)  # noqa: S610 - not Django

    async def send(self, data: bytes, within: float | None) -> None:
        """Write bytes; `within` bounds the wait for the socket to take them."""
        with Operation(within, httpx.WriteTimeout, httpx.WriteError, _SENDING, self.state):
            await self._stream.send(data)

    async def receive(self, within: float | None) -> None:
        """Wait until more bytes (or the end of the stream) reach the reader."""
        with Operation(within, httpx.ReadTimeout, httpx.ReadError, _READING, self.state):
            try:
                data = await self._stream.receive(_READ_SIZE)
            except anyio.EndOfStream:
                self.reader.receive_eof()
                return
        if self.state is not None:
            self.state.response_started = True
        self.reader.receive(data)

    async def aclose(self) -> None:
        """Close at once, without waiting on the peer; safe from an ended event loop."""
        try:
            await anyio.aclose_forcefully(self._stream)
        except RuntimeError:  # "Event loop is closed": nothing more can be done here
            await anyio.lowlevel.checkpoint()


Connection: TypeAlias = AsyncioConnection | StreamConnection
"""A connection, whatever moves its bytes: both have the same attributes and methods."""


def _is_readable(fileno: int) -> bool:
    """Whether a read would not block; poll, not select, which fails past descriptor 1023."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fileno, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fileno], [], [], 0)  # Windows: no poll, no such limit
    return bool(readable)


def current_loop() -> object:
    """The running event loop, as connections record it."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return anyio.lowlevel.current_token()
