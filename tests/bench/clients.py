"""The clients compared: the SDK, and what a user would write by hand with httpx or aiohttp."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import aiohttp
import httpx
import httpx2
from servers import CACHE, Server

from momento_http import MomentoClient, MomentoTransport

TTL = "60"


class Operations(Protocol):
    """A cache `get` and `set`, however they are sent."""

    async def get(self, key: str) -> bytes | None:
        """Read a value; None on a miss."""

    async def set(self, key: str, value: bytes) -> None:
        """Store a value for 60 s."""


Contender = Callable[[Server], AbstractAsyncContextManager[Operations]]


class _Sdk:
    def __init__(self, client: MomentoClient) -> None:
        self.client = client

    async def get(self, key: str) -> bytes | None:
        return await self.client.get(CACHE, key)

    async def set(self, key: str, value: bytes) -> None:
        await self.client.set(CACHE, key, value)


@asynccontextmanager
async def sdk(server: Server) -> AsyncIterator[Operations]:
    """momento_http.MomentoClient as it comes."""
    async with MomentoClient(server.token, base_url=server.base_url, default_ttl=60) as client:
        yield _Sdk(client)


@asynccontextmanager
async def sdk_on_httpx2(server: Server) -> AsyncIterator[Operations]:
    """MomentoClient on a caller's httpx2.AsyncClient, itself on MomentoTransport."""
    async with (
        httpx2.AsyncClient(transport=MomentoTransport()) as http,
        MomentoClient(
            server.token, base_url=server.base_url, default_ttl=60, http_client=http
        ) as client,
    ):
        yield _Sdk(client)


class _Httpx:
    """What the reference pages translate to with httpx.AsyncClient."""

    def __init__(self, http: httpx.AsyncClient, server: Server) -> None:
        self.http = http
        self.url = f"{server.base_url}/cache/{CACHE}"
        self.headers = {"authorization": server.token}

    async def get(self, key: str) -> bytes | None:
        response = await self.http.get(self.url, params={"key": key}, headers=self.headers)
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        response.raise_for_status()
        return response.content

    async def set(self, key: str, value: bytes) -> None:
        params = {"key": key, "ttl_seconds": TTL}
        response = await self.http.put(self.url, params=params, content=value, headers=self.headers)
        response.raise_for_status()


@asynccontextmanager
async def raw_httpx(server: Server) -> AsyncIterator[Operations]:
    """httpx.AsyncClient with its own transport (httpcore)."""
    async with httpx.AsyncClient() as http:
        yield _Httpx(http, server)


class _Aiohttp:
    def __init__(self, session: aiohttp.ClientSession, server: Server) -> None:
        self.session = session
        self.url = f"{server.base_url}/cache/{CACHE}"
        self.headers = {"authorization": server.token}

    async def get(self, key: str) -> bytes | None:
        async with self.session.get(self.url, params={"key": key}, headers=self.headers) as r:
            if r.status == httpx.codes.NOT_FOUND:
                return None
            r.raise_for_status()
            return await r.read()

    async def set(self, key: str, value: bytes) -> None:
        params = {"key": key, "ttl_seconds": TTL}
        async with self.session.put(self.url, params=params, data=value, headers=self.headers) as r:
            r.raise_for_status()


@asynccontextmanager
async def raw_aiohttp(server: Server) -> AsyncIterator[Operations]:
    """aiohttp.ClientSession, by hand."""
    async with aiohttp.ClientSession() as session:
        yield _Aiohttp(session, server)


SUPPORTED_SDK: dict[str, Contender] = {"SDK": sdk}
"""The SDK's configurations the test suite runs: the candidates for "the fastest"."""

ON_HTTPX2: dict[str, Contender] = {"SDK, httpx2 client": sdk_on_httpx2}
"""The SDK on a service's own httpx2 client (on MomentoTransport), beside the default."""

PEERS: dict[str, Contender] = {
    "raw aiohttp": raw_aiohttp,
    "raw httpx": raw_httpx,
}
"""What a user would write by hand instead, with the two libraries they would reach for."""
