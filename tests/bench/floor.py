"""The floor: the least a Python client can do for a get or set on asyncio.

A raw asyncio `Protocol` per connection, httptools (llhttp, in C) to read the answer, and
each request's bytes encoded once, in advance. No pool logic beyond a stack of idle
connections, no timeouts, no error handling worth the name: nothing a real client could
ship, which is the point. It is the yardstick for how much the SDK costs above the wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast
from urllib.parse import urlsplit

import httptools
from clients import TTL, Operations
from servers import CACHE, Server


class _Connection(asyncio.Protocol):
    """One connection: write a request, wait for its whole answer."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[bytes] | None = None
        self.body: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body, self.body = b"".join(self.body), []
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(body)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionResetError())

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        body = await self.waiter
        return self.parser.get_status_code(), body


class _Floor:
    def __init__(self, server: Server) -> None:
        url = urlsplit(server.base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.idle: list[_Connection] = []
        self.requests: dict[tuple[str, str, int], bytes] = {}
        self.head = (
            f"host: {url.netloc}\r\nauthorization: {server.token}\r\naccept-encoding: identity\r\n"
        ).encode()

    def _request(self, method: str, target: str, body: bytes = b"") -> bytes:
        request = self.requests.get((method, target, len(body)))
        if request is None:
            length = f"content-length: {len(body)}\r\n".encode() if method == "PUT" else b""
            request = f"{method} {target} HTTP/1.1\r\n".encode() + self.head + length + b"\r\n"
            self.requests[(method, target, len(body))] = request
        return request + body

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        # The server closes connections idle past its keep-alive timeout: skip those.
        while self.idle and self.idle[-1].closed:
            self.idle.pop()
        if self.idle:
            connection = self.idle.pop()
        else:
            loop = asyncio.get_running_loop()
            _, connection = await loop.create_connection(_Connection, self.host, self.port)
        status, body = await connection.exchange(request)
        self.idle.append(connection)
        return status, body

    async def get(self, key: str) -> bytes | None:
        status, body = await self._exchange(self._request("GET", f"/cache/{CACHE}?key={key}"))
        return None if status == 404 else body

    async def set(self, key: str, value: bytes) -> None:
        target = f"/cache/{CACHE}?key={key}&ttl_seconds={TTL}"
        await self._exchange(self._request("PUT", target, value))

    def close(self) -> None:
        for connection in self.idle:
            if connection.transport is not None:
                connection.transport.close()


@asynccontextmanager
async def floor(server: Server) -> AsyncIterator[Operations]:
    """A raw asyncio protocol with httptools and pre-encoded requests (asyncio only)."""
    client = _Floor(server)
    try:
        yield client
    finally:
        client.close()
