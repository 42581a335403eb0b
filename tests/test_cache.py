"""Cache get/set/delete against the local server over loopback."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from datetime import timedelta

import anyio
import httpx
import pytest
from conftest import CACHE, EVERY_LOOP_AND_UVLOOP, ODD_CACHE, OTHER_CACHE, FakeClock

from momento_http import (
    CacheNotFoundError,
    ClientClosedError,
    InvalidArgumentError,
    MomentoClient,
)
from momento_http.local import LocalServer, Settings

AWKWARD_KEYS: list[str | bytes] = [
    "plain",
    "ünïcødé",
    "emoji 🙂",
    "a/b/../c",
    "a&b=c",
    "what?x=1",
    "with spaces  ",
    "percent%20sign",
    "plus+sign",
    "#hash",
    "\t\n",
    b"\x00",
    b"\x00\xff\xfe",
    bytes(range(256)),
]


@EVERY_LOOP_AND_UVLOOP
async def test_set_get_delete_miss(client: MomentoClient) -> None:
    await client.set(CACHE, "round-trip", b"value")
    assert await client.get(CACHE, "round-trip") == b"value"
    await client.delete(CACHE, "round-trip")
    assert await client.get(CACHE, "round-trip") is None


async def test_calls_leave_no_reference_cycle_for_the_collector(client: MomentoClient) -> None:
    # Freed as soon as they are done, not at the next collection: a cycle would keep each
    # call's request, response and headers alive until then, and make collections dearer.
    gc.collect()
    gc.disable()
    try:
        gc.set_debug(gc.DEBUG_SAVEALL)
        for index in range(20):
            await client.set(CACHE, f"cycle-{index}", b"v")
            assert await client.get(CACHE, f"cycle-{index}") == b"v"
            assert await client.get(CACHE, f"cycle-absent-{index}") is None
            await client.delete(CACHE, f"cycle-{index}")
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, httpx.Request | httpx.Response)]
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()
    assert left == []


async def test_get_of_an_absent_key_is_none(client: MomentoClient) -> None:
    assert await client.get(CACHE, "never-set") is None


async def test_delete_of_an_absent_key_succeeds(client: MomentoClient) -> None:
    await client.delete(CACHE, "never-set-either")


async def test_set_overwrites(client: MomentoClient) -> None:
    await client.set(CACHE, "over", "first")
    await client.set(CACHE, "over", "second")
    assert await client.get(CACHE, "over") == b"second"


async def test_awkward_keys_round_trip_without_colliding(client: MomentoClient) -> None:
    for index, key in enumerate(AWKWARD_KEYS):
        await client.set(CACHE, key, f"value {index}")
    for index, key in enumerate(AWKWARD_KEYS):
        assert await client.get(CACHE, key) == f"value {index}".encode(), key
    for key in AWKWARD_KEYS:
        await client.delete(CACHE, key)
        assert await client.get(CACHE, key) is None


@pytest.mark.parametrize("text", ["plain_key", "ключ/1 & more?"])
async def test_a_text_key_and_its_bytes_name_the_same_item(
    client: MomentoClient, text: str
) -> None:
    await client.set(CACHE, text, b"shared")
    assert await client.get(CACHE, text.encode()) == b"shared"
    await client.delete(CACHE, text.encode())
    assert await client.get(CACHE, text) is None


async def test_caches_are_separate(client: MomentoClient) -> None:
    await client.set(CACHE, "where", b"one")
    await client.set(OTHER_CACHE, "where", b"other")
    assert await client.get(CACHE, "where") == b"one"
    assert await client.get(OTHER_CACHE, "where") == b"other"


async def test_a_cache_name_needing_escapes_works(client: MomentoClient) -> None:
    await client.set(ODD_CACHE, "k", b"odd")
    assert await client.get(ODD_CACHE, "k") == b"odd"


@pytest.mark.parametrize("name", [".", ".."])
async def test_dot_names_are_not_removed_from_the_path(name: str) -> None:
    async with (
        LocalServer([name, "default-cache"]) as server,
        MomentoClient(server.api_key, base_url=server.base_url, default_ttl=5) as client,
    ):
        await client.set(name, "k", b"in the dot cache")
        assert await client.get(name, "k") == b"in the dot cache"
        assert await client.get("default-cache", "k") is None


@EVERY_LOOP_AND_UVLOOP
@pytest.mark.parametrize("size", [0, 1, 1000, 64 * 1024])
async def test_values_of_many_sizes_round_trip(client: MomentoClient, size: int) -> None:
    value = bytes(i % 251 for i in range(size))
    await client.set(CACHE, f"size-{size}", value)
    assert await client.get(CACHE, f"size-{size}") == value


async def test_text_values_are_stored_as_utf8(client: MomentoClient) -> None:
    await client.set(CACHE, "text", "žluťoučký kůň")
    assert await client.get(CACHE, "text") == "žluťoučký kůň".encode()
    await client.set(CACHE, "empty-text", "")
    assert await client.get(CACHE, "empty-text") == b""


async def test_largest_item_fits_and_one_byte_more_does_not(client: MomentoClient) -> None:
    key = "big"
    room = Settings().max_item_bytes - len(key)
    value = b"\xab" * room
    await client.set(CACHE, key, value)
    assert await client.get(CACHE, key) == value
    with pytest.raises(InvalidArgumentError) as caught:
        await client.set(CACHE, key, value + b"!")
    assert caught.value.status_code == 413
    await client.delete(CACHE, key)


async def test_ttl_as_timedelta(client: MomentoClient) -> None:
    await client.set(CACHE, "td", b"v", ttl=timedelta(hours=1))
    assert await client.get(CACHE, "td") == b"v"


async def test_ttl_over_the_server_limit_is_refused(client: MomentoClient) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        await client.set(CACHE, "long", b"v", ttl=timedelta(hours=24, seconds=1))
    assert caught.value.status_code == 400
    assert "ttl_seconds" in caught.value.message


async def test_item_expires_after_its_ttl_in_real_time(client: MomentoClient) -> None:
    await client.set(CACHE, "short-lived", b"v", ttl=1)
    assert await client.get(CACHE, "short-lived") == b"v"
    await anyio.sleep(1.1)
    assert await client.get(CACHE, "short-lived") is None


async def test_item_expires_exactly_at_its_ttl(
    clocked_server: LocalServer, clock: FakeClock
) -> None:
    async with MomentoClient(clocked_server.api_key, base_url=clocked_server.base_url) as client:
        await client.set(CACHE, "k", b"v", ttl=10)
        clock.advance(9.9)
        assert await client.get(CACHE, "k") == b"v"
        clock.advance(0.1)
        assert await client.get(CACHE, "k") is None


@pytest.mark.parametrize("operation", ["get", "set", "delete", "publish"])
async def test_missing_cache_raises_cache_not_found(client: MomentoClient, operation: str) -> None:
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "get": lambda: client.get("no-such-cache", "k"),
        "set": lambda: client.set("no-such-cache", "k", b"v"),
        "delete": lambda: client.delete("no-such-cache", "k"),
        "publish": lambda: client.publish("no-such-cache", "topic", "hi"),
    }
    with pytest.raises(CacheNotFoundError) as caught:
        await calls[operation]()
    assert caught.value.status_code == 404
    assert caught.value.message == "Cache Not Found"
    assert caught.value.url is not None
    assert "no-such-cache" in caught.value.url


@EVERY_LOOP_AND_UVLOOP
async def test_lifecycle(server: LocalServer) -> None:
    client = MomentoClient(server.api_key, base_url=server.base_url, default_ttl=5)
    await client.set(CACHE, "life", b"v")  # usable without `async with`
    await client.aclose()
    await client.aclose()
    with pytest.raises(ClientClosedError):
        await client.get(CACHE, "life")
    with pytest.raises(ClientClosedError):
        async with client:
            pass


async def test_a_client_is_entered_once(server: LocalServer) -> None:
    async with MomentoClient(server.api_key, base_url=server.base_url) as client:
        with pytest.raises(ClientClosedError, match="once"):
            await client.__aenter__()
        assert await client.get(CACHE, "any") is None
    with pytest.raises(ClientClosedError):
        await client.get(CACHE, "any")


async def test_the_token_may_travel_in_the_query(server: LocalServer) -> None:
    async with MomentoClient(
        server.api_key, base_url=server.base_url, token_in_query=True, default_ttl=5
    ) as client:
        await client.set(CACHE, "via-query", b"v")
        assert await client.get(CACHE, "via-query") == b"v"
