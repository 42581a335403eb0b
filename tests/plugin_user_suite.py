"""A user's tests of their own service, annotated with the types `momento_http.testing` gives.

test_testing_plugin.py runs this module with pytester under each async plugin, as a user's
suite; mypy checks it as a user's checker would (it is not collected here: no `test_`).
"""

from __future__ import annotations

import pytest

from momento_http import AuthenticationError, MomentoClient, TopicItem
from momento_http.local import CachePermission, CacheRole, LocalServer
from momento_http.testing import ApiKeyFactory, ServerClock, WaitForSubscribers

CACHES_SEEN: list[str] = []


async def test_a_cache_of_its_own_holds_what_the_test_stores(
    momento_client: MomentoClient, momento_cache: str
) -> None:
    await momento_client.set(momento_cache, "k", b"mine")
    await momento_client.publish(momento_cache, "news", "mine")
    CACHES_SEEN.append(momento_cache)
    assert await momento_client.get(momento_cache, "k") == b"mine"


async def test_the_next_test_starts_with_an_empty_cache_and_fresh_topics(
    momento_client: MomentoClient,
    momento_cache: str,
    momento_wait_for_subscribers: WaitForSubscribers,
) -> None:
    assert CACHES_SEEN, "the test before did not run first"
    assert momento_cache not in CACHES_SEEN
    assert await momento_client.get(momento_cache, "k") is None
    async with momento_client.subscribe(momento_cache, "news") as news:
        await momento_wait_for_subscribers(momento_cache, "news")
        await momento_client.publish(momento_cache, "news", "first here")
        event = await news.__anext__()
    assert isinstance(event, TopicItem)
    assert (event.sequence_number, event.value) == (1, "first here")


async def test_an_item_expires_when_the_clock_passes_its_ttl(
    momento_client: MomentoClient, momento_cache: str, momento_clock: ServerClock
) -> None:
    await momento_client.set(momento_cache, "k", b"v", ttl=60)
    momento_clock.advance(59)
    assert await momento_client.get(momento_cache, "k") == b"v"
    momento_clock.advance(1)
    assert await momento_client.get(momento_cache, "k") is None


async def test_a_key_expires_on_the_same_clock(
    momento_server: LocalServer,
    momento_api_key: ApiKeyFactory,
    momento_cache: str,
    momento_clock: ServerClock,
) -> None:
    key = momento_api_key([CachePermission(CacheRole.READ_ONLY)], expires_in=30)
    async with MomentoClient(key, base_url=momento_server.base_url, retry=None) as reader:
        assert await reader.get(momento_cache, "k") is None
        momento_clock.advance(30)
        with pytest.raises(AuthenticationError):
            await reader.get(momento_cache, "k")
