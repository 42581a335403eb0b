"""pytest fixtures for testing your own code against a local Momento server.

Load the plugin in a `conftest.py`:

    pytest_plugins = ["momento_http.testing"]

(or run `pytest -p momento_http.testing`), then ask for the fixtures:

    async def test_cache_round_trip(momento_client, momento_cache):
        await momento_client.set(momento_cache, "k", b"v", ttl=60)
        assert await momento_client.get(momento_cache, "k") == b"v"

The fixtures work under pytest-asyncio (strict and auto modes) and under anyio's pytest
plugin (asyncio and trio): the server runs in a thread of its own, and the client keeps
no connection open between requests, so neither needs the test's event loop to start or
to stop.

Fixtures, with the type to annotate them with:

- `momento_caches` (`list[str]`): The caches the server creates (session scope;
  override to change).
- `momento_settings` (`Settings`): The server's settings (session scope; override to
  change).
- `momento_clock` (`ServerClock`): The server's clock (session scope): the wall clock,
  which `momento_clock.advance(seconds)` moves forward, for TTLs and key expiry.
- `momento_server` (`LocalServer`): The local server, started once per session.
- `momento_cache` (`str`): A cache of the test's own, made empty for it on the server.
- `momento_client` (`MomentoClient`): A client bound to the server, 60 s default TTL.
- `momento_api_key` (`ApiKeyFactory`): Mints scoped, expiring keys:
  `momento_server.mint_api_key`.
- `momento_faults` (`LocalServer`): The server, with fault rules cleared before and
  after the test; arm them with `momento_faults.inject_fault(Fault(...))`.
- `momento_wait_for_subscribers` (`WaitForSubscribers`): Waits until the server holds a
  topic's polls, so that a test publishes knowing its subscriber hears: `await
  momento_wait_for_subscribers(cache, topic)`.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Protocol

import httpx
import pytest

from momento_http import MomentoClient, MomentoTransport
from momento_http.local import ALL_PERMISSIONS, DEFAULT_CACHE, LocalServer, Permission, Settings

__all__ = [
    "ApiKeyFactory",
    "ServerClock",
    "WaitForSubscribers",
    "momento_api_key",
    "momento_cache",
    "momento_caches",
    "momento_client",
    "momento_clock",
    "momento_faults",
    "momento_server",
    "momento_settings",
    "momento_wait_for_subscribers",
]


class ServerClock:
    """The time the local server goes by: the wall clock, moved forward at will.

    TTLs, key expiry and topic idleness follow it, so a test sees an item expire without
    waiting: `momento_clock.advance(61)` after a 60 s `set`. Time only moves forward, for
    every later test too; each test's items, set after, expire as they would.

    Args:
        now: The time it follows, in epoch seconds: `time.time` unless given.
    """

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._ahead = 0.0

    def __call__(self) -> float:
        """The time in epoch seconds."""
        return self._now() + self._ahead

    def advance(self, seconds: float | timedelta) -> None:
        """Move the clock forward.

        Raises:
            ValueError: `seconds` is negative or not finite.
        """
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"the clock moves forward only, by finite seconds; not {seconds!r}")
        self._ahead += seconds


class ApiKeyFactory(Protocol):
    """The type of `momento_api_key`: mints keys the server accepts.

    It is `LocalServer.mint_api_key`; see there for the arguments.
    """

    def __call__(
        self,
        permissions: Iterable[Permission] = ALL_PERMISSIONS,
        *,
        expires_in: float | timedelta | None = None,
        token_id: str | None = None,
    ) -> str:
        """Mint a key with these permissions, expiring `expires_in` from now (or never)."""
        ...


class WaitForSubscribers(Protocol):
    """The type of `momento_wait_for_subscribers`: `LocalServer.wait_for_subscribers`."""

    async def __call__(
        self,
        cache: str,
        topic: str,
        count: int = 1,
        timeout: float = 5.0,
    ) -> None:
        """Return once the server holds `count` polls of the topic; `TimeoutError` if not."""
        ...


@pytest.fixture(scope="session")
def momento_caches() -> list[str]:
    """The caches the local server creates; override this fixture to name your own."""
    return [DEFAULT_CACHE]


@pytest.fixture(scope="session")
def momento_settings() -> Settings:
    """The local server's settings; override this fixture to change limits or topics."""
    return Settings()


@pytest.fixture(scope="session")
def momento_clock() -> ServerClock:
    """The local server's clock: `momento_clock.advance(seconds)` moves it forward."""
    return ServerClock()


@pytest.fixture(scope="session")
def momento_server(
    momento_caches: list[str], momento_settings: Settings, momento_clock: ServerClock
) -> Iterator[LocalServer]:
    """A local Momento server on a loopback port, for the whole session."""
    with LocalServer(momento_caches, settings=momento_settings, clock=momento_clock) as server:
        yield server


_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9_-]+")


@pytest.fixture
def momento_cache(momento_server: LocalServer, request: pytest.FixtureRequest) -> str:
    """A cache no other test uses, made on the server for this test: empty, as are its topics.

    Its name starts with the test's, so that a failure names the test that used it.
    """
    name = f"{_NOT_IN_NAMES.sub('-', request.node.name)[:40]}-{uuid.uuid4().hex[:8]}"
    momento_server.create_cache(name)
    return name


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
def momento_api_key(momento_server: LocalServer) -> ApiKeyFactory:
    """Mints keys for the local server: `momento_api_key([CachePermission(...)], ...)`."""
    return momento_server.mint_api_key


@pytest.fixture
def momento_faults(momento_server: LocalServer) -> Iterator[LocalServer]:
    """The local server, with no fault rules before or after the test."""
    momento_server.clear_faults()
    yield momento_server
    momento_server.clear_faults()


@pytest.fixture
def momento_wait_for_subscribers(momento_server: LocalServer) -> WaitForSubscribers:
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
