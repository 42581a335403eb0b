"""The client wraps an AsyncClient: its own by default, or the caller's, never closed.

A caller's client may be httpx's or httpx2's: each test here runs with both.
"""

from __future__ import annotations

from types import ModuleType

import anyio
import httpx
import pytest
from conftest import CACHE, UVLOOP, unique
from http_proxy import http_proxy

from momento_http import (
    ClientClosedError,
    InvalidArgumentError,
    MomentoClient,
    MomentoTransport,
    TopicItem,
)
from momento_http.local import LocalServer, Settings


@pytest.fixture(scope="module", params=["asyncio", "trio", UVLOOP])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """This module runs on uvloop too: MomentoTransport's protocols meet its transports."""
    return request.param


class Hooks:
    """Event hooks that note every request and response an AsyncClient of a family sends."""

    def __init__(self, family: ModuleType) -> None:
        self.family = family
        self.requests: list[tuple[str, str]] = []
        self.statuses: list[int] = []

    async def on_request(self, request: httpx.Request) -> None:
        assert isinstance(request, self.family.Request)
        self.requests.append((request.method, request.url.path.split("/")[1]))

    async def on_response(self, response: httpx.Response) -> None:
        assert isinstance(response, self.family.Response)
        self.statuses.append(response.status_code)

    def client(self, transport: MomentoTransport | None = None) -> httpx.AsyncClient:
        http: httpx.AsyncClient = self.family.AsyncClient(
            transport=transport,
            event_hooks={"request": [self.on_request], "response": [self.on_response]},
        )
        return http


@pytest.fixture
def hooked(family: ModuleType) -> Hooks:
    return Hooks(family)


async def test_every_call_and_poll_goes_through_the_callers_client(
    server: LocalServer, hooked: Hooks
) -> None:
    topic = unique("through-hooks")
    async with (
        hooked.client() as http,
        MomentoClient(
            server.api_key, base_url=server.base_url, default_ttl=60, http_client=http
        ) as client,
    ):
        await client.set(CACHE, "hooked", b"v")
        assert await client.get(CACHE, "hooked") == b"v"
        await client.delete(CACHE, "hooked")
        assert await client.get(CACHE, "hooked") is None
        await client.publish(CACHE, topic, "one")
        async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
            event = await anext(aiter(subscription))
        assert isinstance(event, TopicItem)
        assert event.value == "one"
    assert hooked.requests == [
        ("PUT", "cache"),
        ("GET", "cache"),
        ("DELETE", "cache"),
        ("GET", "cache"),
        ("POST", "topics"),
        ("GET", "topics"),
    ]
    assert hooked.statuses == [204, 200, 204, 404, 204, 200]


async def test_the_callers_client_stays_open_and_its_own_is_closed(
    server: LocalServer, family: ModuleType
) -> None:
    async with family.AsyncClient() as http:
        async with MomentoClient(server.api_key, base_url=server.base_url, http_client=http):
            pass
        assert not http.is_closed
        assert (await http.get(f"{server.base_url}/openapi.json")).status_code == 200
    with pytest.raises(ClientClosedError, match="http_client"):
        async with MomentoClient(
            server.api_key, base_url=server.base_url, http_client=http
        ) as client:
            await client.get(CACHE, "k")


async def test_an_http_client_of_another_kind_is_refused(family: ModuleType) -> None:
    with (
        family.Client() as http,
        pytest.raises(InvalidArgumentError, match=r"httpx\.AsyncClient or an httpx2\.AsyncClient"),
    ):
        MomentoClient("t", base_url="http://127.0.0.1:9", http_client=http)


async def test_the_callers_headers_and_base_url_are_not_mixed_in(
    server: LocalServer, family: ModuleType
) -> None:
    seen: list[httpx.Headers] = []

    async def note(request: httpx.Request) -> None:
        seen.append(request.headers)

    async with (
        family.AsyncClient(
            base_url="http://elsewhere.invalid",
            headers={"x-team": "a", "accept-encoding": "gzip"},
            event_hooks={"request": [note]},
        ) as http,
        MomentoClient(server.api_key, base_url=server.base_url, http_client=http) as client,
    ):
        assert await client.get(CACHE, unique("absent")) is None
    (headers,) = seen
    assert "x-team" not in headers
    assert headers["accept-encoding"] == "identity"  # no answer is inflated past its cap


async def test_subscriptions_on_a_callers_momento_transport_get_connections_of_their_own(
    hooked: Hooks,
) -> None:
    # The pool allows one shared connection: fifty held polls must not hold it. This server
    # holds a poll for ten minutes, so a call queued behind one would not end in the test.
    transport = MomentoTransport(max_connections=1)
    topic = unique("lanes")
    async with (
        LocalServer([CACHE], settings=Settings(poll_hold_seconds=600)) as server,
        hooked.client(transport) as http,
        MomentoClient(server.api_key, base_url=server.base_url, http_client=http) as client,
        anyio.create_task_group() as group,
    ):

        async def wait_for_one() -> None:
            async with client.subscribe(CACHE, topic) as subscription:
                await anext(aiter(subscription))

        for _ in range(50):
            group.start_soon(wait_for_one)
        await server.wait_for_subscribers(CACHE, topic, count=50, timeout=60)
        with anyio.fail_after(60):
            for index in range(20):
                await client.set(CACHE, f"lane-{index}", b"v", ttl=60)
        await client.publish(CACHE, topic, "done")  # what every held poll waits for
    assert hooked.requests.count(("GET", "topics")) == 50


async def test_a_callers_client_with_a_proxy_and_limits_sends_every_call_through_it(
    server: LocalServer, family: ModuleType
) -> None:
    async with (
        http_proxy() as (proxy, log),
        # No connection kept: the proxy logs each request's line, not only a connection's first.
        family.AsyncClient(proxy=proxy, limits=family.Limits(max_keepalive_connections=0)) as http,
        MomentoClient(server.api_key, base_url=server.base_url, http_client=http) as client,
    ):
        await client.set(CACHE, "proxied", b"v", ttl=60)
        assert await client.get(CACHE, "proxied") == b"v"
    assert log.request_lines == [
        f"PUT {server.base_url}/cache/{CACHE}?key=proxied&ttl_seconds=60 HTTP/1.1".encode(),
        f"GET {server.base_url}/cache/{CACHE}?key=proxied HTTP/1.1".encode(),
    ]
