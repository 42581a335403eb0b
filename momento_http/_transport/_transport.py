"""MomentoTransport: the SDK's own HTTP/1.1 transport for httpx, on asyncio and trio.

httpcore, httpx's default transport, costs most of a request's CPU time: its pool places
each request with a scan over every request and connection (quadratic under concurrency),
and each connection carries locks, events and tracing. The SDK only ever sends small
requests to one origin, so this transport keeps a plain stack of idle connections per origin
and sends each request in one write. Requests whose state names a dedicated connection (a
subscription's long polls) travel over that connection, so waiting polls never hold the
pool's.
"""

from __future__ import annotations

import ssl
import time
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Final, cast, overload

import anyio
import anyio.lowlevel
import httpx

from momento_http._families import (
    ASYNC_BYTE_STREAMS,
    HTTPX,
    AsyncBaseTransport2,
    AsyncByteStream2,
    Family,
    request_family,
)
from momento_http._transport._connect import open_connection
from momento_http._transport._connection import Connection, current_loop
from momento_http._transport._content import OneChunk
from momento_http._transport._http11 import Head, ProtocolError, ResponseReader, encode_request
from momento_http._transport._pool import Pool
from momento_http._transport._proxy import ProxyChoice
from momento_http._transport._state import (
    REQUEST_STATE,
    DedicatedConnection,
    RequestState,
    current_time,
)

if TYPE_CHECKING:
    import httpx2

__all__ = ["BODY", "MomentoTransport"]

BODY: Final = "momento_http.body"
"""A response extension: the whole body, when it came with the head (as the SDK's small
answers do); the stream yields the same bytes, but reading them here spares iterating it."""

_DEFAULT_PORTS = {b"http": 80, b"https": 443}
_Timeouts = dict[str, float | None]


class MomentoTransport(httpx.AsyncBaseTransport, AsyncBaseTransport2):
    """An HTTP/1.1 transport with keep-alive and a connection limit, for httpx or httpx2.

    It is what a `MomentoClient` uses unless given an `http_client`; pass it to your own
    client to keep its speed and its separate connection per subscription:
    `httpx.AsyncClient(transport=MomentoTransport(), event_hooks=...)`, or the same with
    `httpx2.AsyncClient`. It answers in the family of the request it is given (httpx's
    responses and exceptions for an httpx request, httpx2's for an httpx2 one), works on
    asyncio and trio alike, honours the timeout extension (connect, read, write, pool), and
    never resends a request by itself.

    Args:
        ssl_context: For `https` URLs; by default httpx's, made on first use (reading
            `SSL_CERT_FILE` and `SSL_CERT_DIR` when `trust_env` is True).
        max_connections: The most shared connections open at once; more requests wait.
            Subscriptions' connections are their own and not counted.
        max_idle: The most idle connections kept for reuse (by default all: a burst's
            connections serve the next, sparing handshakes); 0 closes each when done.
        keepalive_expiry: Seconds an idle connection is kept: under the 5 s after which
            uvicorn, for one, closes its side, so that a connection is seldom reused just
            as the server closes it.
        proxy: An `http://` forward proxy for every request (credentials in the URL if it
            wants them): https origins are reached through a tunnel (HTTP CONNECT), with TLS
            to the origin inside it. None: as the environment says, if `trust_env`.
        trust_env: Read `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` (upper or
            lower case) when `proxy` is None, and the certificate variables, as httpx does.

    Raises:
        httpx.UnsupportedProtocol: `proxy` is not an `http://` URL.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 100,
        max_idle: int = 100,
        keepalive_expiry: float = 4.0,
        proxy: str | httpx.URL | httpx2.URL | None = None,
        trust_env: bool = True,
    ) -> None:
        self._ssl_context = ssl_context
        self._trust_env = trust_env
        self._proxies = ProxyChoice(proxy, trust_env=trust_env)
        self._keepalive_expiry = keepalive_expiry
        self._pool = Pool(max_connections, max_idle)
        self._dedicated: set[Pool] = set()

    async def __aenter__(self) -> MomentoTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the idle connections, dedicated ones included; busy ones close when done."""
        await self._pool.aclose()
        dedicated, self._dedicated = self._dedicated, set()
        for pool in dedicated:
            await pool.aclose()

    @overload
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response: ...

    @overload
    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response: ...

    async def handle_async_request(
        self, request: httpx.Request | httpx2.Request
    ) -> httpx.Response | httpx2.Response:
        """Send the request and read the response's head; the body streams.

        Raises:
            httpx.TransportError: A connection, protocol or timeout failure (its httpx2
                namesake for an httpx2 request).
        """
        sent = cast("httpx.Request", request)  # httpx2's has the same members
        family = request_family(sent)
        try:
            timeouts: _Timeouts = sent.extensions.get("timeout", {})
            state: RequestState | None = sent.extensions.get(REQUEST_STATE)
            pool = self._pool
            if state is not None:
                state.taken = True
                if state.dedicated is not None:
                    pool = self._dedicated_pool(state.dedicated)
            await pool.reserve(timeouts.get("pool"), state)
            try:
                connection = await self._connection(pool, sent, timeouts.get("connect"), state)
            except BaseException:
                pool.unreserve()
                raise
            # No retry here, even on a kept-alive connection the peer closed: the request
            # may have been served, and only the caller knows whether it may go twice.
            return await self._exchange(pool, connection, sent, timeouts, state, family=family)
        except httpx.HTTPError as failure:
            if family is HTTPX:
                raise
            raise family.failure(failure) from failure

    def _dedicated_pool(self, dedicated: DedicatedConnection) -> Pool:
        pool = dedicated.holder
        if isinstance(pool, Pool) and pool in self._dedicated:
            return pool  # this transport's, and still open
        pool = Pool(max_connections=1, max_idle=1)
        self._dedicated.add(pool)
        dedicated.attach(pool, partial(self._close_dedicated, pool))
        return pool

    async def _exchange(
        self,
        pool: Pool,
        connection: Connection,
        request: httpx.Request,
        timeouts: _Timeouts,
        state: RequestState | None,
        *,
        family: Family,
    ) -> httpx.Response:
        """One request and response head on a reserved connection, which it owns from now."""
        read_timeout = timeouts.get("read")
        reader = connection.reader
        try:
            url, headers = request.url, request.headers.raw
            target = url.raw_path
            if connection.forward is not None:  # to a proxy: the target in absolute form
                target = url.raw_scheme + b"://" + url.netloc + target
                headers = [*headers, *connection.forward.headers]
            try:
                data = encode_request(
                    request.method.encode("ascii"), target, headers, await _request_body(request)
                )
            except ProtocolError as refused:
                raise httpx.LocalProtocolError(str(refused)) from None
            reader.start(expect_body=request.method != "HEAD")
            connection.state = state
            if state is not None:
                state.start_sending()
            await connection.send(data, timeouts.get("write"))
            while (head := _read_head(reader)) is None:
                await connection.receive(read_timeout)
            body = _read_body(reader) if reader.body_at_hand else None
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._discard(pool, connection)
            raise
        extensions: dict[str, object] = {"http_version": b"HTTP/1.1", "reason_phrase": head.reason}
        stream: httpx.AsyncByteStream
        if body is None:
            stream = _Body(self, pool, connection, read_timeout, state, family=family)
        else:  # the whole body came with the head: the connection is free already
            if body:
                _read_body(reader)  # the end, which cannot fail now
            await self._release(pool, connection)
            stream = OneChunk(body)
            extensions[BODY] = body
        return family.Response(
            head.status, headers=head.headers, stream=stream, extensions=extensions
        )

    async def _connection(
        self,
        pool: Pool,
        request: httpx.Request,
        connect_timeout: float | None,
        state: RequestState | None,
    ) -> Connection:
        """An idle connection to the request's origin still good for use, else a new one.

        Raises:
            httpx.UnsupportedProtocol: The URL's scheme is neither http nor https.
        """
        url = request.url
        scheme = url.raw_scheme
        default_port = _DEFAULT_PORTS.get(scheme)
        if default_port is None:
            shown = scheme.decode("ascii", "replace")
            raise httpx.UnsupportedProtocol(f"the URL's scheme is {shown!r}, not http or https")
        origin = (scheme, url.raw_host, url.port or default_port)
        loop = current_loop()
        now = time.monotonic()
        while (connection := pool.take_idle(origin)) is not None:
            if connection.loop == loop and not connection.is_stale(now, self._keepalive_expiry):
                return connection
            await connection.aclose()
        tls = self._tls() if scheme == b"https" else None
        proxy = self._proxies.for_origin(origin)
        return await open_connection(origin, tls, connect_timeout, state, proxy)

    def _tls(self) -> ssl.SSLContext:
        # Made on first use: loading the CA store takes ~25 ms, wasted on http:// servers.
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context(trust_env=self._trust_env)
        return self._ssl_context

    async def _release(self, pool: Pool, connection: Connection) -> None:
        """A response was read to its end: keep the connection for reuse if it allows."""
        connection.state = None
        connection.idle_since = time.monotonic()
        if connection.reader.reusable and pool.keep_idle(connection):
            pool.unreserve()
        else:
            await self._discard(pool, connection)

    async def _discard(self, pool: Pool, connection: Connection) -> None:
        connection.state = None
        pool.unreserve()
        await connection.aclose()

    async def _close_dedicated(self, pool: Pool) -> None:
        self._dedicated.discard(pool)
        await pool.aclose()


async def _request_body(request: httpx.Request) -> bytes:
    stream = request.stream
    if isinstance(stream, OneChunk):  # the SDK's own requests: no iteration needed
        return stream.data
    if not isinstance(stream, ASYNC_BYTE_STREAMS):
        raise TypeError("an async transport needs an async request body")
    return b"".join([chunk async for chunk in stream])


class _Body(httpx.AsyncByteStream, AsyncByteStream2):
    """A response body, read from its connection as it is iterated.

    Read to its end, it hands the connection back for reuse; closed before that, it closes
    the connection. A plain object, not an async generator, so nothing is left for trio to
    warn about when iteration stops early. Each part is read within the try's deadline,
    bytes at hand or not, and a burst too big to parse at once lets other tasks run
    between its parts.
    """

    def __init__(
        self,
        transport: MomentoTransport,
        pool: Pool,
        connection: Connection,
        timeout: float | None,
        state: RequestState | None,
        *,
        family: Family,
    ) -> None:
        self._transport = transport
        self._family = family
        self._pool = pool
        self._connection: Connection | None = connection
        self._timeout = timeout
        self._state = state

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        connection = self._connection
        if connection is None:
            raise StopAsyncIteration
        try:
            if self._state is not None:
                _check_deadline(self._state)
            if connection.reader.buffered:  # left from a burst's last part
                await anyio.lowlevel.checkpoint()
            while (data := _read_body(connection.reader)) is None:
                await connection.receive(self._timeout)
        except BaseException as failure:
            self._connection = None
            with anyio.CancelScope(shield=True):
                await self._transport._discard(self._pool, connection)
            if isinstance(failure, httpx.HTTPError) and self._family is not HTTPX:
                raise self._family.failure(failure) from failure
            raise
        if data:
            return data
        self._connection = None  # the body is complete
        await self._transport._release(self._pool, connection)
        raise StopAsyncIteration

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with anyio.CancelScope(shield=True):
                await self._transport._discard(self._pool, connection)


def _check_deadline(state: RequestState) -> None:
    """Raise if the try's deadline has passed: bytes at hand are no reason to go on."""
    if state.deadline is not None and current_time() >= state.deadline:
        state.timed_out = True
        raise httpx.ReadTimeout("reading the answer ran out of time")


def _read_head(reader: ResponseReader) -> Head | None:
    try:
        return reader.read_head()
    except ProtocolError as refused:
        raise httpx.RemoteProtocolError(str(refused)) from None


def _read_body(reader: ResponseReader) -> bytes | None:
    try:
        return reader.read_body()
    except ProtocolError as refused:
        raise httpx.RemoteProtocolError(str(refused)) from None
