"""api_key as a function: asked before the first request, before expiry, and after a 401."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable

import anyio
import pytest
from conftest import CACHE, unique

from momento_http import (
    AuthenticationError,
    InvalidArgumentError,
    MomentoClient,
    MomentoError,
)
from momento_http._credentials._keys import jwt_expiry
from momento_http.local import LocalServer


class Vending:
    """A token vending service: the first key expires in `lifetime` seconds, later ones in 60.

    Renewed keys live long, so a loaded machine's slow calls cannot outlive them and ask
    for more renewals than the test counts.
    """

    def __init__(self, server: LocalServer, lifetime: float | None = 60) -> None:
        self.server = server
        self.lifetime = lifetime
        self.calls = 0
        self.bad_first = 0  # how many calls answer a token the server refuses

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.bad_first:
            other = LocalServer([CACHE])  # signed by another server's secret: refused
            return other.mint_api_key(expires_in=60)
        return self.server.mint_api_key(expires_in=self.lifetime if self.calls == 1 else 60)

    async def asynchronously(self) -> str:
        await anyio.lowlevel.checkpoint()
        return self()


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "refused with 401" in r.getMessage()]


async def test_a_plain_provider_is_asked_at_once_then_again_before_the_token_expires(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="momento_http")
    vending = Vending(server, lifetime=1.5)
    client = MomentoClient(vending, base_url=server.base_url, default_ttl=60)
    assert vending.calls == 1  # before the first request
    async with client:
        await client.set(CACHE, "vended", b"v")
        token = server.mint_api_key(expires_in=1.5)
        expiry = jwt_expiry(token)
        assert expiry is not None
        await anyio.sleep(max(0.0, expiry - time.time()))  # past its expiry: renewed first
        assert await client.get(CACHE, "vended") == b"v"
    assert vending.calls == 2
    assert refusals(caplog) == []  # renewed before the server refused anything


async def test_a_token_refused_with_401_is_replaced_once_and_the_call_repeated(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="momento_http")
    vending = Vending(server)
    vending.bad_first = 1
    async with MomentoClient(
        vending.asynchronously, base_url=server.base_url, default_ttl=60, retry=None
    ) as client:
        await client.set(CACHE, unique("after-401"), b"v")
    assert vending.calls == 2
    assert len(refusals(caplog)) == 1


async def test_a_provider_whose_tokens_are_all_refused_raises_after_one_renewal(
    server: LocalServer,
) -> None:
    vending = Vending(server)
    vending.bad_first = 10
    async with MomentoClient(vending, base_url=server.base_url, retry=None) as client:
        with pytest.raises(AuthenticationError):
            await client.get(CACHE, "k")
    assert vending.calls == 2  # the first, and one renewal: no loop


async def test_an_async_provider_is_asked_on_entering_the_client(server: LocalServer) -> None:
    vending = Vending(server)
    client = MomentoClient(vending.asynchronously, base_url=server.base_url, default_ttl=60)
    assert vending.calls == 0
    async with client:
        assert vending.calls == 1
        await client.set(CACHE, "async-vended", b"v")
        assert await client.get(CACHE, "async-vended") == b"v"
    assert vending.calls == 1


async def test_many_calls_at_once_share_one_renewal(server: LocalServer) -> None:
    vending = Vending(server, lifetime=1.5)
    async with MomentoClient(vending, base_url=server.base_url, default_ttl=60) as client:
        expiry = jwt_expiry(server.mint_api_key(expires_in=1.5))
        assert expiry is not None
        await anyio.sleep(max(0.0, expiry - time.time()))
        async with anyio.create_task_group() as group:
            for index in range(20):
                group.start_soon(client.set, CACHE, f"together-{index}", b"v")
    assert vending.calls == 2


def v1_key(endpoint: str) -> str:
    envelope = {"api_key": "inner.jwt.token", "endpoint": endpoint}
    return base64.b64encode(json.dumps(envelope).encode()).decode()


async def test_the_base_url_can_come_from_an_async_providers_first_token() -> None:
    async def provider() -> str:
        return v1_key("cell-9-test-region-1.prod.a.momentohq.com")

    client = MomentoClient(provider)
    with pytest.raises(MomentoError, match="first token"):
        _ = client.base_url
    assert "from the first token" in repr(client)
    async with client:  # reads the first token; sends nothing
        assert str(client.base_url) == "https://api.cache.cell-9-test-region-1.prod.a.momentohq.com"


@pytest.mark.parametrize(
    "answer",
    [lambda: 42, lambda: "", lambda: "has space", lambda: None],
    ids=["an int", "an empty string", "a space", "None"],
)
def test_a_provider_answering_no_key_is_refused(answer: Callable[[], object]) -> None:
    with pytest.raises(InvalidArgumentError):
        MomentoClient(answer, base_url="http://127.0.0.1:9")  # type: ignore[arg-type]


def test_a_provider_is_not_asked_when_another_argument_is_refused(server: LocalServer) -> None:
    vending = Vending(server)
    with pytest.raises(InvalidArgumentError, match="max_response_bytes"):
        MomentoClient(vending, base_url=server.base_url, max_response_bytes=0)
    assert vending.calls == 0
