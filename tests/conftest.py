"""Shared fixtures: one local server for the session, a client bound to it, both backends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import anyio.lowlevel
import httpx
import pytest

from momento_http import MomentoClient
from momento_http.local import LocalServer, Settings

CACHE = "test-cache"
OTHER_CACHE = "other-cache"
ODD_CACHE = "odd cache/ü?&"
REFERENCE_CACHES = ["default-cache", "my-cache"]
POLL_HOLD_SECONDS = 0.5


async def no_wait(seconds: float) -> None:
    """A retry policy's sleep for tests: yields to other tasks, never waits."""
    del seconds
    await anyio.lowlevel.checkpoint()


class FakeClock:
    """A clock a test moves forward by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingTransport(httpx.AsyncHTTPTransport):
    """A real transport that counts the requests it carries."""

    def __init__(self) -> None:
        super().__init__(local_address="127.0.0.1")
        self.handled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.handled += 1
        return await super().handle_async_request(request)


@pytest.fixture(scope="session", params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def server() -> Iterator[LocalServer]:
    settings = Settings(poll_hold_seconds=POLL_HOLD_SECONDS)
    caches = [CACHE, OTHER_CACHE, ODD_CACHE, *REFERENCE_CACHES]
    with LocalServer(caches, settings=settings) as running:
        yield running


@pytest.fixture
async def client(server: LocalServer) -> AsyncIterator[MomentoClient]:
    """A client bound to the session's server; one try per call, so faults show as they are."""
    async with MomentoClient(
        server.api_key, base_url=server.base_url, default_ttl=60, retry=None
    ) as bound:
        yield bound


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked_server(clock: FakeClock) -> Iterator[LocalServer]:
    """A server of its own whose time the test controls."""
    with LocalServer([CACHE], clock=clock, settings=Settings(poll_hold_seconds=0.2)) as running:
        yield running


def unique(prefix: str) -> str:
    """A name no other test uses, for state kept on the session's server."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
