"""One HTTP/1.1 connection: a socket, the h11 state of its exchange, and plain failures.

Every failure leaves here as one of httpx's transport exceptions, with a message in plain
words ("the server closed the connection before answering"), never h11's state names.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
from types import TracebackType
from typing import Final

import anyio
import anyio.abc
import anyio.lowlevel
import h11
import httpx

from momento_http._ticket import Ticket

__all__ = ["Connection", "Guard", "encode_request", "read_response_head"]

_READ_SIZE: Final = 65_536
_Event = h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]
_IO_FAILURES: Final = (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError, ssl.SSLError)


def _plain_reason(failure: BaseException) -> str:
    """A short reason for a socket failure, such as "connection refused"."""
    while failure is not None:
        if isinstance(failure, ssl.SSLError) and failure.reason:
            return f"TLS: {failure.reason.lower().replace('_', ' ')}"
        if isinstance(failure, OSError) and failure.errno:
            return os.strerror(failure.errno).lower()
        failure = failure.__cause__ or failure.__context__  # type: ignore[assignment]
    return "the connection broke"


class Guard:
    """Bounds a socket operation in time and turns its failures into httpx's exceptions.

    A class rather than a `@contextmanager`: it runs on every request, and generator-based
    context managers cost more than the step they guard.

    Args:
        seconds: The time limit; None for none.
        on_timeout: Raised when the limit is reached.
        on_error: Raised for a socket, TLS or stream failure.
        doing: What the operation is, in words, for the messages.
    """

    __slots__ = ("_doing", "_on_error", "_on_timeout", "_scope", "_seconds")

    def __init__(
        self,
        seconds: float | None,
        on_timeout: type[httpx.TimeoutException],
        on_error: type[httpx.TransportError],
        doing: str,
    ) -> None:
        self._seconds = seconds
        self._on_timeout = on_timeout
        self._on_error = on_error
        self._doing = doing
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
                raise self._on_timeout(f"{self._doing} took longer than {self._seconds} s")
            if swallowed:
                return True
        if isinstance(exc, _IO_FAILURES):
            raise self._on_error(f"{self._doing} failed: {_plain_reason(exc)}") from exc
        return False


class Connection:
    """One socket and the h11 state of the exchange on it.

    Args:
        stream: The connected byte stream.
        loop: The event loop it belongs to (`anyio.lowlevel.current_token()`).
    """

    __slots__ = ("answered", "h11", "idle_since", "loop", "socket", "stream", "ticket")

    def __init__(self, stream: anyio.abc.ByteStream, loop: object) -> None:
        self.stream = stream
        self.socket = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)  # noqa: S610 - not Django
        self.h11 = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0
        self.loop = loop
        self.answered = False  # whether the current response's head has arrived
        self.ticket: Ticket | None = None  # the current request's notes, if it has any

    def is_stale(self, now: float, keepalive_expiry: float) -> bool:
        """Whether an idle connection should not be reused: expired, or closed by the peer."""
        if now - self.idle_since > keepalive_expiry:
            return True
        # An idle socket that reads has hit EOF (or sent garbage).
        return self.socket is not None and _is_readable(self.socket)

    async def receive_event(self, read_timeout: float | None) -> _Event:
        """The next h11 event, reading from the socket as needed.

        Raises:
            httpx.RemoteProtocolError: The answer is not HTTP/1.1, or the server closed
                the connection before it was complete.
            httpx.ReadTimeout: Nothing came within `read_timeout`.
            httpx.ReadError: The socket failed.
        """
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError:
                raise httpx.RemoteProtocolError(self._what_broke()) from None
            if event is h11.NEED_DATA:
                with Guard(read_timeout, httpx.ReadTimeout, httpx.ReadError, "reading the answer"):
                    try:
                        data = await self.stream.receive(_READ_SIZE)
                    except anyio.EndOfStream:
                        data = b""
                if data and self.ticket is not None:
                    self.ticket.heard = True
                self.h11.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError(self._what_broke())
            return event

    def _what_broke(self) -> str:
        if not self.h11.trailing_data[1]:  # no end of stream seen: what came was not HTTP
            return "the server's answer is not valid HTTP/1.1"
        if not self.answered:
            return "the server closed the connection before answering"
        return "the server closed the connection before the answer was complete"

    async def aclose(self) -> None:
        """Close the socket without waiting on the peer.

        A connection left from an event loop that has ended cannot be closed from another:
        it is dropped, and Python closes its socket when it is collected.
        """
        try:
            await anyio.aclose_forcefully(self.stream)
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


async def read_response_head(connection: Connection, read_timeout: float | None) -> h11.Response:
    """Read up to the final response head, past any 1xx.

    Raises:
        httpx.RemoteProtocolError: Something else came first.
    """
    while True:
        event = await connection.receive_event(read_timeout)
        if isinstance(event, h11.Response):
            connection.answered = True
            return event
        if not isinstance(event, h11.InformationalResponse):
            raise httpx.RemoteProtocolError("the server's answer is not valid HTTP/1.1")


def encode_request(
    connection: Connection, request: httpx.Request, body: bytes, ticket: Ticket | None
) -> bytes:
    """The request's bytes on the wire, head and body together: one write, no Nagle wait.

    Raises:
        httpx.LocalProtocolError: A header or the target cannot be sent.
    """
    connection.answered = False
    connection.ticket = ticket
    try:
        head = h11.Request(
            method=request.method, target=request.url.raw_path, headers=request.headers.raw
        )
        data = connection.h11.send(head) or b""
        if body:
            data += connection.h11.send(h11.Data(data=body)) or b""
        return data + (connection.h11.send(h11.EndOfMessage()) or b"")
    except h11.LocalProtocolError:
        raise httpx.LocalProtocolError("the request has a header HTTP/1.1 cannot carry") from None
