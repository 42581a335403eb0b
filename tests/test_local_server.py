"""The local server's own behaviour, spoken to with raw httpx over loopback."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import anyio
import httpx
import pytest
from conftest import CACHE, OTHER_CACHE, FakeClock, local_cli, local_cli_refusal, unique

from momento_http.local import (
    CachePermission,
    CacheRole,
    LocalServer,
    Permission,
    Settings,
    TopicPermission,
    TopicRole,
)
from momento_http.local._cache_store import item_size


@pytest.fixture
async def http(server: LocalServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url) as raw:
        yield raw


def auth(token: str) -> dict[str, str]:
    return {"authorization": token}


async def poll(
    http: httpx.AsyncClient, token: str, topic: str, sequence_number: int, cache: str = CACHE
) -> list[dict[str, Any]]:
    response = await http.get(
        f"/topics/{cache}/{topic}",
        params={"sequence_number": sequence_number},
        headers=auth(token),
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# --- authentication -------------------------------------------------------------------


async def test_token_in_both_header_and_query_is_a_400(http: httpx.AsyncClient) -> None:
    response = await http.get(
        f"/cache/{CACHE}",
        # Both places are refused before either token is checked: any token shows it.
        params={"key": "k", "token": "not-checked-" + "x" * 20},
        headers=auth("not-checked-" + "y" * 20),
    )
    assert response.status_code == 400
    assert "only one of the Authorization header and the token" in response.text


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": ""}, {"authorization": "garbage"}, {"authorization": "a.b.c"}]
)
async def test_missing_or_unknown_token_is_a_401(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await http.get(f"/cache/{CACHE}", params={"key": "k"}, headers=headers)
    assert response.status_code == 401


async def test_a_forged_token_is_a_401(server: LocalServer, http: httpx.AsyncClient) -> None:
    header, payload, _ = server.api_key.split(".")
    forged = f"{header}.{payload}.{base64.urlsafe_b64encode(b'x' * 32).decode().rstrip('=')}"
    response = await http.get(f"/cache/{CACHE}", params={"key": "k"}, headers=auth(forged))
    assert response.status_code == 401


async def test_a_token_that_is_not_ascii_is_a_401(
    server: LocalServer, http: httpx.AsyncClient
) -> None:
    own_header = server.api_key.split(".")[0]
    in_query = await http.get(
        f"/cache/{CACHE}", params={"key": "k", "token": f"{own_header}.\u00e9.abc"}
    )
    in_header = await http.get(
        f"/cache/{CACHE}",
        params={"key": "k"},
        headers=[(b"authorization", f"{own_header}.\u00e9.abc".encode("latin-1"))],
    )
    assert (in_query.status_code, in_header.status_code) == (401, 401)
    assert in_query.text == "the token is not one this server issued"


async def test_a_token_from_another_server_is_a_401(http: httpx.AsyncClient) -> None:
    other = LocalServer([CACHE])  # never started: it only mints
    response = await http.get(f"/cache/{CACHE}", params={"key": "k"}, headers=auth(other.api_key))
    assert response.status_code == 401


async def test_a_token_expires_on_the_servers_clock(
    clocked_server: LocalServer, clock: FakeClock
) -> None:
    token = clocked_server.mint_api_key(expires_in=60)
    async with httpx.AsyncClient(base_url=clocked_server.base_url) as http:

        async def status() -> int:
            response = await http.get(f"/cache/{CACHE}", params={"key": "k"}, headers=auth(token))
            return response.status_code

        assert await status() == 404  # a miss: the token works
        clock.advance(59)
        assert await status() == 404
        clock.advance(1)
        assert await status() == 401


async def test_a_fixed_token_has_every_permission() -> None:
    async with (
        LocalServer([CACHE], token="fixed-local-token") as server,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        assert server.api_key == "fixed-local-token"
        put = await http.put(
            f"/cache/{CACHE}",
            params={"key": "k", "ttl_seconds": 5},
            headers=auth("fixed-local-token"),
            content=b"v",
        )
        assert put.status_code == 204
        publish = await http.post(
            f"/topics/{CACHE}/t", headers=auth("fixed-local-token"), content=b"m"
        )
        assert publish.status_code == 204


# --- scopes ---------------------------------------------------------------------------

OPERATIONS = ["get", "set", "delete", "publish", "subscribe"]

SCOPES: list[tuple[str, list[Permission], dict[str, set[str]]]] = [
    (
        "cache read-only",
        [CachePermission(CacheRole.READ_ONLY)],
        {CACHE: {"get"}, OTHER_CACHE: {"get"}},
    ),
    (
        "cache write-only",
        [CachePermission(CacheRole.WRITE_ONLY)],
        {CACHE: {"set", "delete"}, OTHER_CACHE: {"set", "delete"}},
    ),
    (
        "cache read-write on one cache",
        [CachePermission(CacheRole.READ_WRITE, cache=CACHE)],
        {CACHE: {"get", "set", "delete"}, OTHER_CACHE: set()},
    ),
    (
        "topics publish-only",
        [TopicPermission(TopicRole.PUBLISH_ONLY)],
        {CACHE: {"publish"}, OTHER_CACHE: {"publish"}},
    ),
    (
        "topics subscribe-only in one cache",
        [TopicPermission(TopicRole.SUBSCRIBE_ONLY, cache=OTHER_CACHE)],
        {CACHE: set(), OTHER_CACHE: {"subscribe"}},
    ),
    (
        "topics publish-subscribe on one topic",
        [TopicPermission(TopicRole.PUBLISH_SUBSCRIBE, topic="scoped-topic")],
        {CACHE: {"publish", "subscribe"}, OTHER_CACHE: {"publish", "subscribe"}},
    ),
]


async def _attempt(http: httpx.AsyncClient, token: str, operation: str, cache: str) -> int:
    headers = auth(token)
    if operation == "get":
        response = await http.get(f"/cache/{cache}", params={"key": "k"}, headers=headers)
    elif operation == "set":
        params = {"key": "k", "ttl_seconds": "5"}
        response = await http.put(f"/cache/{cache}", params=params, headers=headers, content=b"v")
    elif operation == "delete":
        response = await http.delete(f"/cache/{cache}", params={"key": "k"}, headers=headers)
    elif operation == "publish":
        response = await http.post(f"/topics/{cache}/scoped-topic", headers=headers, content=b"m")
    else:
        response = await http.get(f"/topics/{cache}/scoped-topic", headers=headers)
    return response.status_code


@pytest.mark.parametrize(("name", "permissions", "allowed"), SCOPES, ids=[s[0] for s in SCOPES])
async def test_scopes_allow_exactly_their_operations(
    server: LocalServer,
    http: httpx.AsyncClient,
    name: str,
    permissions: list[Permission],
    allowed: dict[str, set[str]],
) -> None:
    token = server.mint_api_key(permissions)
    for cache, operations in allowed.items():
        for operation in OPERATIONS:
            status = await _attempt(http, token, operation, cache)
            if operation in operations:
                assert status in (200, 204, 404), (name, cache, operation, status)
                if status == 404:
                    assert operation == "get"
            else:
                assert status == 403, (name, cache, operation, status)


async def test_a_topic_scope_does_not_reach_other_topics(
    server: LocalServer, http: httpx.AsyncClient
) -> None:
    token = server.mint_api_key([TopicPermission(TopicRole.PUBLISH_ONLY, topic="mine")])
    assert (
        await http.post(f"/topics/{CACHE}/mine", headers=auth(token), content=b"m")
    ).status_code == 204
    assert (
        await http.post(f"/topics/{CACHE}/yours", headers=auth(token), content=b"m")
    ).status_code == 403


# --- cache requests -------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"ttl_seconds": "5"},
        {"key": "k", "key_base64": "aw", "ttl_seconds": "5"},
        {"key_base64": "!!!", "ttl_seconds": "5"},
        {"key": "", "ttl_seconds": "5"},
        {"key": "k"},
        {"key": "k", "ttl_seconds": "0"},
        {"key": "k", "ttl_seconds": "-1"},
        {"key": "k", "ttl_seconds": "1.5"},
        {"key": "k", "ttl_seconds": "soon"},
        {"key": "k", "ttl_seconds": "86401"},
        {"key": "k", "ttl_seconds": "9" * 5000},
    ],
)
async def test_malformed_set_is_a_400(
    server: LocalServer, http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await http.put(
        f"/cache/{CACHE}", params=params, headers=auth(server.api_key), content=b"v"
    )
    assert response.status_code == 400, params


@pytest.mark.parametrize("sequence_number", ["-1", "x", "9" * 5000])
async def test_malformed_sequence_number_is_a_400(
    server: LocalServer, http: httpx.AsyncClient, sequence_number: str
) -> None:
    response = await http.get(
        f"/topics/{CACHE}/t",
        params={"sequence_number": sequence_number},
        headers=auth(server.api_key),
    )
    assert response.status_code == 400


async def test_key_base64_is_accepted_padded_or_not_in_either_alphabet(
    server: LocalServer, http: httpx.AsyncClient
) -> None:
    key = b"\xfb\xff\xfe"
    put = await http.put(
        f"/cache/{CACHE}",
        params={"key_base64": base64.b64encode(key).decode(), "ttl_seconds": 5},
        headers=auth(server.api_key),
        content=b"alphabets",
    )
    assert put.status_code == 204
    for encoded in (base64.urlsafe_b64encode(key).decode(), "-__-"):
        got = await http.get(
            f"/cache/{CACHE}", params={"key_base64": encoded}, headers=auth(server.api_key)
        )
        assert got.content == b"alphabets"


async def test_unknown_parameters_and_any_content_type_are_fine(
    server: LocalServer, http: httpx.AsyncClient
) -> None:
    # What Momento's own integration test of the HTTP API sends.
    response = await http.put(
        f"/cache/{CACHE}",
        params={"key": "json", "value": "ignored", "ttl_seconds": 5},
        headers={**auth(server.api_key), "content-type": "application/json"},
        content=b'{"a": 1}',
    )
    assert response.status_code == 204
    got = await http.get(f"/cache/{CACHE}", params={"key": "json"}, headers=auth(server.api_key))
    assert got.content == b'{"a": 1}'
    assert got.headers["content-type"] == "application/octet-stream"


async def test_not_found_answers(server: LocalServer, http: httpx.AsyncClient) -> None:
    miss = await http.get(f"/cache/{CACHE}", params={"key": "absent"}, headers=auth(server.api_key))
    assert (miss.status_code, miss.reason_phrase, miss.text) == (404, "Not Found", "Key Not Found")
    cache = await http.get("/cache/absent", params={"key": "k"}, headers=auth(server.api_key))
    assert (cache.status_code, cache.reason_phrase, cache.text) == (
        404,
        "Not Found",
        "Cache Not Found",
    )
    route = await http.get("/elsewhere", headers=auth(server.api_key))
    assert route.status_code == 404


async def test_a_cache_made_while_serving_is_served_and_listed(
    server: LocalServer, http: httpx.AsyncClient
) -> None:
    name = unique("made ü/")  # any name: the client escapes it in the path
    escaped = quote(name, safe="")
    path = f"/cache/{escaped}"
    before = await http.get(path, params={"key": "k"}, headers=auth(server.api_key))
    server.create_cache(name)
    server.create_cache(name)  # again: nothing happens
    stored = await http.put(
        path, params={"key": "k", "ttl_seconds": 60}, content=b"v", headers=auth(server.api_key)
    )
    got = await http.get(path, params={"key": "k"}, headers=auth(server.api_key))
    published = await http.post(f"/topics/{escaped}/t", content="m", headers=auth(server.api_key))
    document = (await http.get("/openapi.json")).json()
    assert (before.status_code, before.text) == (404, "Cache Not Found")
    assert (stored.status_code, got.status_code, got.content) == (204, 200, b"v")
    assert published.status_code == 204
    assert server.caches.count(name) == 1
    assert server.caches[-1] == name
    (cache_parameter,) = [
        p for p in document["paths"]["/cache/{cacheName}"]["get"]["parameters"] if p["in"] == "path"
    ]
    assert name in cache_parameter["schema"]["enum"]


@pytest.mark.parametrize("name", ["", None, 5])
def test_a_cache_name_must_be_a_non_empty_string(name: Any) -> None:
    with pytest.raises(ValueError, match="a cache name must be a non-empty string"):
        LocalServer([CACHE]).create_cache(name)


async def test_wrong_method_is_a_405(server: LocalServer, http: httpx.AsyncClient) -> None:
    response = await http.post(f"/cache/{CACHE}", params={"key": "k"}, headers=auth(server.api_key))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PUT, DELETE"


async def test_least_recently_used_items_are_evicted_past_the_memory_budget() -> None:
    settings = Settings(max_memory_bytes=3 * item_size(b"a", b"x" * 299))  # three items
    async with (
        LocalServer([CACHE], settings=settings) as server,
        httpx.AsyncClient(base_url=server.base_url, headers=auth(server.api_key)) as http,
    ):

        async def put(key: str) -> None:
            params = {"key": key, "ttl_seconds": "60"}
            response = await http.put(f"/cache/{CACHE}", params=params, content=b"x" * 299)
            assert response.status_code == 204

        async def present(key: str) -> bool:
            response = await http.get(f"/cache/{CACHE}", params={"key": key})
            return response.status_code == 200

        for key in ("a", "b", "c"):  # all fit
            await put(key)
        assert await present("a")  # "a" is now the most recently used
        await put("d")  # one too many: "b", the least recently used, goes
        assert [await present(k) for k in "abcd"] == [True, False, True, True]


async def test_expired_items_make_room_before_live_ones_are_evicted(clock: FakeClock) -> None:
    settings = Settings(max_memory_bytes=3 * item_size(b"long-1", b"x" * 290))
    async with (
        LocalServer([CACHE], settings=settings, clock=clock) as server,
        httpx.AsyncClient(base_url=server.base_url, headers=auth(server.api_key)) as http,
    ):
        for key, ttl in (("short", 1), ("long-1", 60), ("long-2", 60)):
            params = {"key": key, "ttl_seconds": str(ttl)}
            await http.put(f"/cache/{CACHE}", params=params, content=b"x" * 290)
        clock.advance(2)
        params = {"key": "new", "ttl_seconds": "60"}
        await http.put(f"/cache/{CACHE}", params=params, content=b"x" * 290)
        for key in ("long-1", "long-2", "new"):
            response = await http.get(f"/cache/{CACHE}", params={"key": key})
            assert response.status_code == 200, key


# --- topics ---------------------------------------------------------------------------


async def test_published_messages_are_numbered_from_1_in_one_page(
    server: LocalServer, http: httpx.AsyncClient
) -> None:
    token = server.mint_api_key(token_id="publisher-7")
    topic = unique("numbered")
    await http.post(f"/topics/{CACHE}/{topic}", headers=auth(token), content=b"one")
    await http.post(
        f"/topics/{CACHE}/{topic}",
        headers={**auth(token), "content-type": "application/octet-stream"},
        content=b"\x00\xff",
    )
    await http.post(
        f"/topics/{CACHE}/{topic}",
        headers={**auth(token), "content-type": "text/plain"},
        content="drei ü".encode(),
    )
    items = await poll(http, token, topic, 1)
    numbers = [entry["item"]["topic_sequence_number"] for entry in items]
    pages = {entry["item"]["sequence_page"] for entry in items}
    values = [entry["item"]["value"] for entry in items]
    assert numbers == [1, 2, 3]
    assert len(pages) == 1
    assert next(iter(pages)) > 0
    assert values == [{"text": "one"}, {"binary": "AP8="}, {"text": "drei ü"}]
    assert {entry["item"]["publisher_id"] for entry in items} == {"publisher-7"}
    assert await poll(http, token, topic, 3) == items[2:]


async def test_a_body_that_is_not_utf8_is_published_as_binary(
    server: LocalServer, http: httpx.AsyncClient
) -> None:
    headers = {**auth(server.api_key), "content-type": "application/x-www-form-urlencoded"}
    topic = unique("sniffed")
    await http.post(f"/topics/{CACHE}/{topic}", headers=headers, content=b"\xff\xfe")
    (entry,) = await poll(http, server.api_key, topic, 1)
    assert entry["item"]["value"] == {"binary": "//4="}


async def test_text_plain_that_is_not_utf8_is_a_400(
    server: LocalServer, http: httpx.AsyncClient
) -> None:
    headers = {**auth(server.api_key), "content-type": "text/plain"}
    response = await http.post(f"/topics/{CACHE}/bad-text", headers=headers, content=b"\xff")
    assert response.status_code == 400


async def test_publish_size_limit(server: LocalServer, http: httpx.AsyncClient) -> None:
    limit = Settings().max_publish_bytes
    ok = await http.post(
        f"/topics/{CACHE}/sized", headers=auth(server.api_key), content=b"x" * limit
    )
    assert ok.status_code == 204
    over = await http.post(
        f"/topics/{CACHE}/sized", headers=auth(server.api_key), content=b"x" * (limit + 1)
    )
    assert over.status_code == 413


async def test_a_poll_older_than_the_ring_starts_with_a_discontinuity() -> None:
    async with (
        LocalServer([CACHE], settings=Settings(topic_ring_size=5)) as server,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        for index in range(1, 9):
            await http.post(
                f"/topics/{CACHE}/ring", headers=auth(server.api_key), content=str(index)
            )
        items = await poll(http, server.api_key, "ring", 2)
        gap = items[0]["discontinuity"]
        page = items[1]["item"]["sequence_page"]
        assert gap == {"last_topic_sequence": 1, "new_topic_sequence": 4, "new_sequence_page": page}
        assert [entry["item"]["topic_sequence_number"] for entry in items[1:]] == [4, 5, 6, 7, 8]
        assert [entry["item"]["value"]["text"] for entry in items[1:]] == ["4", "5", "6", "7", "8"]


async def test_poll_batch_size_bounds_every_answer_a_discontinuity_included() -> None:
    async with (
        LocalServer([CACHE], settings=Settings(topic_ring_size=5, poll_batch_size=3)) as server,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        for index in range(1, 9):  # the ring keeps 4 to 8
            await http.post(
                f"/topics/{CACHE}/batched", headers=auth(server.api_key), content=str(index)
            )
        in_the_ring = await poll(http, server.api_key, "batched", 5)
        older = await poll(http, server.api_key, "batched", 2)
        page = in_the_ring[0]["item"]["sequence_page"]
        response = await http.get(
            f"/topics/{CACHE}/batched",
            params={"sequence_number": 5, "sequence_page": page + 1},
            headers=auth(server.api_key),
        )
        other_page = response.json()["items"]

    def numbers(items: list[dict[str, Any]]) -> list[int]:
        return [entry["item"]["topic_sequence_number"] for entry in items]

    assert numbers(in_the_ring) == [5, 6, 7]
    for gapped in (older, other_page):
        assert len(gapped) == 3
        assert gapped[0]["discontinuity"]["new_topic_sequence"] == 4
        assert numbers(gapped[1:]) == [4, 5]


async def first_page(http: httpx.AsyncClient, token: str, topic: str) -> int:
    await http.post(f"/topics/{CACHE}/{topic}", headers=auth(token), content=b"m")
    items = await poll(http, token, topic, 1)
    page: int = items[-1]["item"]["sequence_page"]
    assert 0 < page <= 2**31 - 1  # a signed 32-bit integer, as clients may read it
    return page


async def test_pages_fit_in_32_bits_and_differ_between_instances_of_one_second(
    clock: FakeClock,
) -> None:
    settings = Settings(topic_idle_seconds=0.001, poll_hold_seconds=0.1)
    async with (
        LocalServer([CACHE], settings=settings, clock=clock) as server,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        first = await first_page(http, server.api_key, "reborn")
        other = await first_page(http, server.api_key, "other")
        clock.advance(0.01)  # still the same second; "reborn" is idle and goes
        second = await first_page(http, server.api_key, "reborn")
        # A subscriber still on the first instance hears of the new one.
        response = await http.get(
            f"/topics/{CACHE}/reborn",
            params={"sequence_number": 2, "sequence_page": first},
            headers=auth(server.api_key),
        )
    assert len({first, other, second}) == 3
    gap = response.json()["items"][0]["discontinuity"]
    assert gap == {"last_topic_sequence": 1, "new_topic_sequence": 1, "new_sequence_page": second}


async def test_two_servers_on_the_same_fake_clock_give_different_pages() -> None:
    pages = []
    for _ in range(2):  # one after the other, as a test suite restarts its server
        async with (
            LocalServer([CACHE], clock=FakeClock(1_800_000_000.0)) as server,
            httpx.AsyncClient(base_url=server.base_url) as http,
        ):
            pages.append(await first_page(http, server.api_key, "same-name"))
    assert pages[0] != pages[1]


async def test_pages_stay_within_32_bits_on_a_clock_past_2038() -> None:
    async with (
        LocalServer([CACHE], clock=FakeClock(2.0**31 + 5)) as server,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        pages = {await first_page(http, server.api_key, f"after-2038-{n}") for n in range(3)}
    assert len(pages) == 3


async def test_a_quiet_poll_is_answered_with_no_items(
    clocked_server: LocalServer,
) -> None:
    async with httpx.AsyncClient(base_url=clocked_server.base_url) as http:
        assert await poll(http, clocked_server.api_key, "quiet", 0) == []


async def test_a_waiting_poll_wakes_when_a_message_is_published(
    server: LocalServer, http: httpx.AsyncClient
) -> None:
    received: list[dict[str, Any]] = []
    topic = unique("wake")

    async def subscribe() -> None:
        received.extend(await poll(http, server.api_key, topic, 0))

    async with anyio.create_task_group() as group:
        group.start_soon(subscribe)
        await server.wait_for_subscribers(CACHE, topic)  # the poll is held: publish once
        await http.post(f"/topics/{CACHE}/{topic}", headers=auth(server.api_key), content=b"hi")
    assert received[0]["item"]["value"] == {"text": "hi"}


# --- command line ---------------------------------------------------------------------


def test_the_command_line_serves_and_prints_its_url_and_token() -> None:
    with local_cli("--cache", "a", "--cache", "b", "--token", "cli-token") as (base_url, banner):
        assert banner[1:] == ["caches: a, b", "MOMENTO_API_KEY=cli-token"]
        put = httpx.put(
            f"{base_url}/cache/b",
            params={"key": "k", "ttl_seconds": 5},
            headers=auth("cli-token"),
            content=b"from the cli",
        )
        assert put.status_code == 204
        got = httpx.get(f"{base_url}/cache/b", params={"key": "k"}, headers=auth("cli-token"))
        assert got.content == b"from the cli"


def test_the_command_line_rejects_bad_settings() -> None:
    assert "max_item_bytes must be a positive number" in local_cli_refusal("--max-item-bytes", "0")
