"""A forward HTTP proxy on loopback: CONNECT tunnels and absolute-form requests, as squid does.

It forwards to loopback addresses only (the tests never reach further), can demand
credentials (407), and can refuse every tunnel with a status of the test's choosing.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.abc
from anyio.abc import SocketStream

MAX_HEAD = 64 * 1024


@dataclass
class ProxyLog:
    """What the proxy saw: each request line, and each Proxy-Authorization sent."""

    request_lines: list[bytes] = field(default_factory=list)
    credentials: list[bytes] = field(default_factory=list)


async def _read_head(stream: SocketStream) -> tuple[bytes, bytes] | None:
    """The head (without its blank line) and whatever came after it; None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD:
            return None
        try:
            data += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return None
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


async def _pipe(source: SocketStream, sink: SocketStream) -> None:
    try:
        async for data in source:
            await sink.send(data)
        await sink.send_eof()
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass


async def _relay(
    client: SocketStream, host: bytes, port: bytes, to_client: bytes, to_origin: bytes
) -> None:
    """Connect to a loopback origin, then pass bytes both ways until either side closes."""
    host = host.strip(b"[]")
    if host not in {b"127.0.0.1", b"::1", b"localhost"}:
        await client.send(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
        return
    async with await anyio.connect_tcp(host.decode(), int(port)) as origin:
        if to_client:
            await client.send(to_client)
        if to_origin:
            await origin.send(to_origin)
        async with anyio.create_task_group() as group:
            group.start_soon(_pipe, client, origin)
            await _pipe(origin, client)
            group.cancel_scope.cancel()


@asynccontextmanager
async def http_proxy(
    *,
    user: str | None = None,
    password: str = "",
    refuse: bytes | None = None,
    hang_up: bool = False,
) -> AsyncIterator[tuple[str, ProxyLog]]:
    """Run a proxy; yields its URL (credentials not included) and its log.

    Args:
        user: Demand these credentials (Basic), answering 407 without them.
        password: The password that goes with `user`.
        refuse: A status line to answer every request with, such as b"502 Bad Gateway".
        hang_up: Close every connection once its request is read, answering nothing.
    """
    log = ProxyLog()
    expected = None
    if user is not None:
        expected = b"Basic " + base64.b64encode(f"{user}:{password}".encode())

    async def serve(client: SocketStream) -> None:
        async with client:
            read = await _read_head(client)
            if read is None:
                return
            head, rest = read
            request_line, *header_lines = head.split(b"\r\n")
            log.request_lines.append(request_line)
            headers = dict(line.split(b":", 1) for line in header_lines)
            given = {k.strip().lower(): v.strip() for k, v in headers.items()}
            credentials = given.get(b"proxy-authorization")
            if credentials is not None:
                log.credentials.append(credentials)
            if hang_up:
                return
            if refuse is not None:
                await client.send(b"HTTP/1.1 " + refuse + b"\r\ncontent-length: 0\r\n\r\n")
                return
            if expected is not None and credentials != expected:
                await client.send(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'proxy-authenticate: Basic realm="test"\r\ncontent-length: 0\r\n\r\n'
                )
                return
            method, target, _ = request_line.split(b" ")
            if method == b"CONNECT":
                host, _, port = target.rpartition(b":")
                established = b"HTTP/1.1 200 Connection established\r\n\r\n"
                await _relay(client, host, port, established, rest)
                return
            # absolute-form, passed on in origin-form: http://host:port/path -> /path
            _, _, authority, path = target.split(b"/", 3)
            host, _, port = authority.rpartition(b":")
            kept = [line for line in header_lines if not line.lower().startswith(b"proxy-")]
            line = b" ".join([method, b"/" + path, b"HTTP/1.1"])
            forwarded = b"\r\n".join([line, *kept]) + b"\r\n\r\n" + rest
            await _relay(client, host, port, b"", forwarded)

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, serve)
        yield f"http://127.0.0.1:{port}", log
        group.cancel_scope.cancel()
