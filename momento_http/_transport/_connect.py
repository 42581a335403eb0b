"""Connecting to an origin: directly or through a proxy, over TLS, on any event loop.

An https origin behind a proxy is reached through a tunnel (HTTP CONNECT) with TLS inside
it; a plain http origin's requests go to the proxy itself, in absolute form. A name's
addresses are raced ("happy eyeballs", RFC 8305): on asyncio by `open_socket`, on trio by
anyio.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Final

import anyio
import anyio.abc
import anyio.lowlevel
import httpx

from momento_http._transport._connection import (
    AsyncioConnection,
    Connection,
    StreamConnection,
)
from momento_http._transport._exceptions import Operation
from momento_http._transport._happy_eyeballs import open_socket
from momento_http._transport._http11 import ProtocolError
from momento_http._transport._proxy import Origin, Proxy
from momento_http._transport._state import RequestState

__all__ = ["open_connection"]

_SUCCESS: Final = range(200, 300)


async def open_connection(
    origin: Origin,
    tls: ssl.SSLContext | None,
    within: float | None,
    state: RequestState | None,
    proxy: Proxy | None = None,
) -> Connection:
    """Connect to an origin, directly or through a proxy, in `within` seconds.

    Over TLS when given a context: through a proxy, inside a tunnel (HTTP CONNECT); a plain
    http origin's requests go to the proxy in absolute form. A name's addresses are raced
    ("happy eyeballs", RFC 8305): on asyncio by `open_socket`, on trio by anyio. The server
    must agree to HTTP/1.1 over TLS (or name no protocol): one that chose another through
    ALPN is refused before any byte of the request is sent.

    Raises:
        httpx.ConnectError: The connection could not be made.
        httpx.ConnectTimeout: Not in time.
        httpx.ProxyError: The proxy refused the tunnel.
    """
    host = origin[1].decode("ascii")
    doing = f"connecting to {_shown(origin)}"
    if proxy is not None:
        doing += f" through the proxy at {_shown(proxy.origin)}"
    first = origin if proxy is None else proxy.origin
    connection: Connection | None = None
    with Operation(within, httpx.ConnectTimeout, httpx.ConnectError, doing, state):
        connection = await _open(first, tls if proxy is None else None)
        try:
            if proxy is not None and tls is not None:
                await open_tunnel(connection, origin, proxy)
                await connection.start_tls(tls, host)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await connection.aclose()
            raise
    assert connection is not None
    connection.origin = origin
    if proxy is not None and tls is None:
        connection.forward = proxy
    if connection.alpn_protocol not in (None, "http/1.1"):
        await connection.aclose()
        raise httpx.ConnectError(
            f"{doing} failed: the server chose {connection.alpn_protocol!r} over TLS, "
            "and this transport speaks HTTP/1.1 only (is the SSL context offering h2?)"
        )
    return connection


def _shown(origin: Origin) -> str:
    host = origin[1].decode("ascii")
    return f"[{host}]:{origin[2]}" if ":" in host else f"{host}:{origin[2]}"


async def _open(origin: Origin, tls: ssl.SSLContext | None) -> Connection:
    host, port = origin[1].decode("ascii"), origin[2]
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not asyncio: trio, through anyio
        return await _open_stream(host, port, tls)
    return await _open_asyncio(loop, host, port, tls)


async def _open_asyncio(
    loop: asyncio.AbstractEventLoop, host: str, port: int, tls: ssl.SSLContext | None
) -> AsyncioConnection:
    def protocol() -> AsyncioConnection:
        return AsyncioConnection(loop)

    sock = await open_socket(loop, host, port)
    # No await before the transport takes the socket: from then on, it closes it on failure.
    hostname = host if tls is not None else None
    _, connection = await loop.create_connection(
        protocol, sock=sock, ssl=tls, server_hostname=hostname
    )
    return connection


async def _open_stream(host: str, port: int, tls: ssl.SSLContext | None) -> StreamConnection:
    stream: anyio.abc.ByteStream
    if tls is None:
        stream = await anyio.connect_tcp(host, port)
    else:
        stream = await anyio.connect_tcp(host, port, ssl_context=tls, tls_standard_compatible=False)
    return StreamConnection(stream, anyio.lowlevel.current_token())


async def open_tunnel(connection: Connection, origin: Origin, proxy: Proxy) -> None:
    """Ask the proxy, over `connection`, for a tunnel to `origin` (HTTP CONNECT).

    Raises:
        httpx.ProxyError: The proxy refused, or closed the connection.
    """
    _, raw_host, port = origin
    authority = (b"[" + raw_host + b"]" if b":" in raw_host else raw_host) + b":%d" % port
    lines = [b"CONNECT " + authority + b" HTTP/1.1", b"host: " + authority]
    lines += [name + b": " + value for name, value in proxy.headers]
    reader = connection.reader
    reader.start(expect_body=False)
    await connection.send(b"\r\n".join(lines) + b"\r\n\r\n", None)
    shown = authority.decode("ascii")
    try:
        while (head := reader.read_head()) is None:
            await connection.receive(None)
    except ProtocolError as refused:
        raise httpx.ProxyError(f"the proxy gave no tunnel to {shown}: {refused}") from None
    if head.status not in _SUCCESS:
        reason = head.reason.decode("ascii", "replace")
        raise httpx.ProxyError(f"the proxy refused a tunnel to {shown}: {head.status} {reason}")
