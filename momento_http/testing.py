"""pytest fixtures for testing your own code against a local Momento server.

Load the plugin in a `conftest.py`:

    pytest_plugins = ["momento_http.testing"]

(or run `pytest -p momento_http.testing`), then ask for the fixtures:

    async def test_cache_round_trip(momento_client):
        await momento_client.set("default-cache", "k", b"v", ttl=60)
        assert await momento_client.get("default-cache", "k") == b"v"

The fixtures work under pytest-asyncio (strict and auto modes) and under anyio's pytest
plugin (asyncio and trio): the server runs in a thread of its own, and the client keeps
no connection open between requests, so neither needs the test's event loop to start or
to stop.

Fixtures:
    momento_caches: The caches the server creates (session scope; override to change).
    momento_settings: The server's `Settings` (session scope; override to change).
    momento_server: The `LocalServer`, started once per session.
    momento_client: A `MomentoClient` bound to the server, with a 60 s default TTL.
    momento_api_key: A factory of scoped, expiring keys: `momento_server.mint_api_key`.
    momento_faults: The server, with fault rules cleared before and after the test; arm
        them with `momento_faults.inject_fault(Fault(...))`.
    momento_wait_for_subscribers: Waits until the server holds a topic's polls, so that
        a test publishes knowing its subscriber hears: `await
        momento_wait_for_subscribers(cache, topic)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest

from momento_http import MomentoClient, MomentoTransport
from momento_http.local import DEFAULT_CACHE, LocalServer, Settings

__all__ = [
    "momento_api_key",
    "momento_caches",
    "momento_client",
    "momento_faults",
    "momento_server",
    "momento_settings",
    "momento_wait_for_subscribers",
]


@pytest.fixture(scope="session")
def momento_caches() -> list[str]:
    """The caches the local server creates; override this fixture to name your own."""
    return [DEFAULT_CACHE]


@pytest.fixture(scope="session")
def momento_settings() -> Settings:
    """The local server's settings; override this fixture to change limits or topics."""
    return Settings()


@pytest.fixture(scope="session")
def momento_server(momento_caches: list[str], momento_settings: Settings) -> Iterator[LocalServer]:
    """A local Momento server on a loopback port, for the whole session."""
    with LocalServer(momento_caches, settings=momento_settings) as server:
        yield server


@pytest.fixture
def momento_client(momento_server: LocalServer) -> MomentoClient:
    """A client of the local server, usable from any event loop, with a 60 s default TTL.

    It sends through an `httpx.AsyncClient` on the SDK's own transport, as in production,
    set to close each connection after its answer, so that nothing is left open when the
    test ends and no event loop is needed to close it. Subscriptions still poll over
    connections of their own, closed with them.
    """
    http = httpx.AsyncClient(transport=MomentoTransport(max_idle=0), trust_env=False)
    return MomentoClient(
        momento_server.api_key,
        base_url=momento_server.base_url,
        default_ttl=60,
        http_client=http,
    )


@pytest.fixture
def momento_api_key(momento_server: LocalServer) -> Callable[..., str]:
    """Mints keys for the local server: `momento_api_key([CachePermission(...)], ...)`."""
    return momento_server.mint_api_key


@pytest.fixture
def momento_faults(momento_server: LocalServer) -> Iterator[LocalServer]:
    """The local server, with no fault rules before or after the test."""
    momento_server.clear_faults()
    yield momento_server
    momento_server.clear_faults()


@pytest.fixture
def momento_wait_for_subscribers(momento_server: LocalServer) -> Callable[..., Awaitable[None]]:
    """Waits until the server holds polls of a topic: a deterministic start for a test.

    Entering `async with client.subscribe(...)` sends the subscription's first poll; once
    the server holds it, whatever is published next reaches the subscription:

        async with momento_client.subscribe("default-cache", "news") as news:
            await momento_wait_for_subscribers("default-cache", "news")
            await code_under_test_that_publishes()
            event = await anext(news)

    It is `momento_server.wait_for_subscribers(cache, topic, count=1, timeout=5.0)`, for
    asyncio and trio alike, and raises `TimeoutError` when too few polls are held in time.
    A held poll is answered empty after the server's `poll_hold_seconds` (30 s unless
    `momento_settings` says otherwise); publish within that time.
    """
    return momento_server.wait_for_subscribers
