"""Cache-aside with `get_or_set`: one load per item for all of a client's concurrent callers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import anyio
import httpx
import pytest
from anyio.abc import TaskStatus
from conftest import CACHE, EVERY_LOOP, FakeClock, no_wait, unique

from momento_http import (
    InvalidArgumentError,
    MomentoClient,
    MomentoTimeoutError,
    MomentoTransport,
    RetryPolicy,
    ServerError,
)
from momento_http.local import Fault, LocalServer


class Watched:
    """A client on the local server whose requests are noted, and can be held before sending."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.storing = anyio.Event()
        self.store_gate: anyio.Event | None = None  # when set up, each PUT waits for it

    def http_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=MomentoTransport(), event_hooks={"request": [self.on_request]}
        )

    async def on_request(self, request: httpx.Request) -> None:
        self.requests.append(request.method)
        if request.method == "PUT" and self.store_gate is not None:
            self.storing.set()
            await self.store_gate.wait()


@pytest.fixture
def watched() -> Watched:
    return Watched()


@pytest.fixture
async def client(server: LocalServer, watched: Watched) -> AsyncIterator[MomentoClient]:
    """A client of the session's server, one try per call, whose requests `watched` notes."""
    async with (
        watched.http_client() as http,
        MomentoClient(
            server.api_key, base_url=server.base_url, default_ttl=60, retry=None, http_client=http
        ) as bound,
    ):
        yield bound
    assert bound._cache_aside.in_flight == 0  # every flight is gone once its callers are


class Loads:
    """A load that counts its calls, and can be held until the test releases it."""

    def __init__(self, value: str | bytes = b"loaded", error: Exception | None = None) -> None:
        self.value = value
        self.error = error
        self.calls = 0
        self.cancelled = 0
        self.started = anyio.Event()
        self.release = anyio.Event()
        self.release.set()  # until held

    def hold(self) -> Loads:
        self.release = anyio.Event()
        return self

    async def __call__(self) -> str | bytes:
        self.calls += 1
        self.started.set()
        try:
            await self.release.wait()
        except BaseException:
            self.cancelled += 1
            raise
        if self.error is not None:
            raise self.error
        return self.value


async def test_a_hit_returns_the_stored_value_and_loads_nothing(
    client: MomentoClient, watched: Watched
) -> None:
    key = unique("hit")
    await client.set(CACHE, key, b"stored")
    load = Loads()
    assert await client.get_or_set(CACHE, key, load) == b"stored"
    assert load.calls == 0
    assert watched.requests == ["PUT", "GET"]


def plain_text_load() -> str:
    return "loaded ü"


async def async_text_load() -> str:
    return "loaded ü"


@pytest.mark.parametrize("load", [plain_text_load, async_text_load], ids=["plain", "async"])
async def test_a_miss_loads_stores_and_returns_the_value(
    client: MomentoClient, watched: Watched, load: Callable[[], str | Awaitable[str]]
) -> None:
    key = unique("miss")
    loaded = "loaded ü".encode()
    assert await client.get_or_set(CACHE, key, load) == loaded  # bytes, as a hit returns
    assert await client.get(CACHE, key) == loaded
    assert await client.get_or_set(CACHE, key, Loads(b"not used")) == loaded
    assert watched.requests == ["GET", "PUT", "GET", "GET"]


async def test_a_loaded_value_lives_for_the_ttl_given(
    clocked_server: LocalServer, clock: FakeClock
) -> None:
    async with MomentoClient(clocked_server.api_key, base_url=clocked_server.base_url) as client:
        await client.get_or_set(CACHE, "k", Loads(), ttl=timedelta(seconds=10))
        clock.advance(9.9)
        assert await client.get(CACHE, "k") == b"loaded"
        clock.advance(0.1)
        assert await client.get(CACHE, "k") is None


async def call_into(
    results: list[object], client: MomentoClient, key: str | bytes, load: Loads
) -> None:
    try:
        results.append(await client.get_or_set(CACHE, key, load))
    except Exception as error:  # what each caller got is the point
        results.append(error)


async def test_fifty_concurrent_callers_share_one_read_one_load_and_one_store(
    client: MomentoClient, watched: Watched
) -> None:
    key = unique("stampede")
    load = Loads(b"once").hold()
    results: list[object] = []
    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(call_into, results, client, key, load)
        await load.started.wait()
        await anyio.wait_all_tasks_blocked()  # every caller is waiting now
        assert (load.calls, results) == (1, [])
        load.release.set()
    assert results == [b"once"] * 50
    assert load.calls == 1
    assert client._cache_aside.in_flight == 0
    assert watched.requests == ["GET", "PUT"]
    assert await client.get(CACHE, key) == b"once"


async def test_a_text_key_and_its_utf8_bytes_share_one_load(client: MomentoClient) -> None:
    key = unique("café")
    load = Loads(b"shared").hold()
    results: list[object] = []
    async with anyio.create_task_group() as group:
        group.start_soon(call_into, results, client, key, load)
        group.start_soon(call_into, results, client, key.encode(), load)
        await load.started.wait()
        await anyio.wait_all_tasks_blocked()
        load.release.set()
    assert (results, load.calls) == ([b"shared", b"shared"], 1)


class LoadError(Exception):
    """What the test's load raises."""


async def test_a_failing_load_reaches_every_waiter_and_stores_nothing(
    client: MomentoClient, watched: Watched
) -> None:
    key = unique("failing-load")
    failure = LoadError("the database is down")
    load = Loads(error=failure).hold()
    results: list[object] = []
    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(call_into, results, client, key, load)
        await load.started.wait()
        await anyio.wait_all_tasks_blocked()
        load.release.set()
    assert results == [failure] * 10
    assert load.calls == 1
    assert watched.requests == ["GET"]
    assert await client.get(CACHE, key) is None
    # A failure is not kept: the next caller loads again.
    assert await client.get_or_set(CACHE, key, Loads(b"recovered")) == b"recovered"


async def test_a_load_returning_neither_text_nor_bytes_is_refused_and_stores_nothing(
    client: MomentoClient, watched: Watched
) -> None:
    key = unique("bad-value")

    def load() -> Any:
        return 42

    with pytest.raises(InvalidArgumentError, match="value must be str or bytes, not int"):
        await client.get_or_set(CACHE, key, load)
    assert watched.requests == ["GET"]


async def test_a_failing_read_is_raised_and_loads_nothing(
    faulty: LocalServer, client: MomentoClient
) -> None:
    faulty.inject_fault(Fault(503, message="busy", method="GET", cache=CACHE))
    load = Loads()
    with pytest.raises(ServerError, match="busy"):
        await client.get_or_set(CACHE, unique("failing-read"), load)
    assert load.calls == 0


async def test_a_failing_store_still_returns_the_value_and_logs_why(
    faulty: LocalServer, client: MomentoClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="momento_http")
    key = unique("failing-store")
    faulty.inject_fault(Fault(503, message="store refused", method="PUT", cache=CACHE))
    assert await client.get_or_set(CACHE, key, Loads(b"fresh")) == b"fresh"
    assert faulty.fault_hits == {"status 503": 1}
    assert await client.get(CACHE, key) is None
    (record,) = [r for r in caplog.records if r.name == "momento_http"]
    assert record.levelno == logging.WARNING
    logged = record.getMessage()
    assert "not stored" in logged
    assert "store refused" in logged
    assert f"PUT {faulty.base_url}/cache/{CACHE}?key={key}" in logged
    assert faulty.api_key not in logged


async def cancellable_call(
    client: MomentoClient,
    key: str,
    load: Loads,
    *,
    task_status: TaskStatus[anyio.CancelScope] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Call `get_or_set` in a scope of its own, handed to the caller at once."""
    with anyio.CancelScope() as scope:
        task_status.started(scope)
        await client.get_or_set(CACHE, key, load)


@EVERY_LOOP
async def test_a_cancelled_waiter_leaves_the_load_to_the_others(client: MomentoClient) -> None:
    key = unique("waiter-cancelled")
    load = Loads(b"kept").hold()
    results: list[object] = []
    async with anyio.create_task_group() as group:
        group.start_soon(call_into, results, client, key, load)  # leads
        await load.started.wait()
        waiter = await group.start(cancellable_call, client, key, load)
        group.start_soon(call_into, results, client, key, load)
        await anyio.wait_all_tasks_blocked()
        waiter.cancel()
        await anyio.wait_all_tasks_blocked()
        assert waiter.cancelled_caught
        load.release.set()
    assert results == [b"kept", b"kept"]
    assert (load.calls, load.cancelled) == (1, 0)


@EVERY_LOOP
async def test_when_the_first_caller_is_cancelled_a_waiter_loads_again(
    client: MomentoClient, watched: Watched
) -> None:
    key = unique("leader-cancelled")
    load = Loads(b"second load").hold()
    results: list[object] = []
    async with anyio.create_task_group() as group:
        leader = await group.start(cancellable_call, client, key, load)
        group.start_soon(call_into, results, client, key, load)
        group.start_soon(call_into, results, client, key, load)
        await load.started.wait()
        await anyio.wait_all_tasks_blocked()
        leader.cancel()
        await anyio.wait_all_tasks_blocked()
        assert leader.cancelled_caught
        assert load.cancelled == 1  # the load went with its caller; a waiter leads now
        load.release.set()
    assert results == [b"second load", b"second load"]
    assert load.calls == 2
    assert watched.requests == ["GET", "GET", "PUT"]


@EVERY_LOOP
async def test_once_the_value_is_loaded_callers_have_it_while_it_is_stored(
    client: MomentoClient, watched: Watched
) -> None:
    key = unique("storing")
    watched.store_gate = anyio.Event()  # holds the store back, before it is sent
    load = Loads(b"early")
    results: list[object] = []
    async with anyio.create_task_group() as group:
        leader = await group.start(cancellable_call, client, key, load)
        for _ in range(3):
            group.start_soon(call_into, results, client, key, load)
        await watched.storing.wait()
        await anyio.wait_all_tasks_blocked()
        assert results == [b"early"] * 3
        # A caller coming now neither reads nor loads: the value is known.
        assert await client.get_or_set(CACHE, key, load) == b"early"
        assert client._cache_aside.in_flight == 1
        leader.cancel()  # cancelled while storing: the others have the value already
    assert leader.cancelled_caught
    assert load.calls == 1
    assert watched.requests == ["GET", "PUT"]


BAD_ARGUMENTS: list[tuple[dict[str, Any], str]] = [
    ({"cache": ""}, "cache name is empty"),
    ({"cache": 7}, "cache name must be a str, not int"),
    ({"key": ""}, "key is empty"),
    ({"key": 7}, "key must be str or bytes, not int"),
    ({"ttl": 0}, "ttl must be positive"),
    ({"ttl": 1.5}, "ttl must be an int number of seconds or a timedelta, not float"),
    ({"timeout": -1}, "timeout must be a positive number of seconds"),
    ({"retry": 3}, "retry must be a RetryPolicy or None"),
    ({"load": b"value"}, "load must be callable, not bytes"),
]


@pytest.mark.parametrize(
    ("arguments", "message"), BAD_ARGUMENTS, ids=[f"{next(iter(a))}-{m}" for a, m in BAD_ARGUMENTS]
)
async def test_bad_arguments_raise_before_any_request(
    client: MomentoClient, watched: Watched, arguments: dict[str, Any], message: str
) -> None:
    load = Loads()
    call: dict[str, Any] = {"cache": CACHE, "key": unique("bad"), "load": load, **arguments}
    with pytest.raises(InvalidArgumentError, match=message):
        await client.get_or_set(**call)
    assert watched.requests == []
    assert load.calls == 0


async def test_no_ttl_and_no_default_is_refused_before_any_request(
    server: LocalServer, watched: Watched
) -> None:
    load = Loads()
    async with (
        watched.http_client() as http,
        MomentoClient(server.api_key, base_url=server.base_url, http_client=http) as client,
    ):
        with pytest.raises(InvalidArgumentError, match="no ttl"):
            await client.get_or_set(CACHE, unique("no-ttl"), load)
    assert watched.requests == []
    assert load.calls == 0


async def test_the_calls_retry_policy_applies_to_its_read_and_its_store(
    faulty: LocalServer, client: MomentoClient
) -> None:
    faulty.inject_fault(Fault(503, method="GET", cache=CACHE, count=1))
    faulty.inject_fault(Fault(503, method="PUT", cache=CACHE, count=1))
    retry = RetryPolicy(max_attempts=2, sleep=no_wait)
    key = unique("retried")
    assert await client.get_or_set(CACHE, key, Loads(b"v"), retry=retry) == b"v"
    assert faulty.fault_hits == {"status 503": 2}
    assert await client.get(CACHE, key) == b"v"  # the store's second try stored it


async def test_the_calls_timeout_applies_to_its_read_and_its_store(
    faulty: LocalServer, client: MomentoClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The client's timeout is 5 s; each error names the deadline it met, so which timeout
    # bounded the request shows in its message, not in how long the test took.
    caplog.set_level(logging.WARNING, logger="momento_http")
    key = unique("timed")
    faulty.inject_fault(Fault(delay=300, method="GET", key=key, request="item"))
    load = Loads(b"v")
    with pytest.raises(MomentoTimeoutError, match=r"no answer within 2 s"):
        await client.get_or_set(CACHE, key, load, timeout=2)
    assert load.calls == 0
    faulty.inject_fault(Fault(delay=300, method="PUT", key=key, request="item"))
    assert await client.get_or_set(CACHE, key, load, timeout=2) == b"v"
    (record,) = [r for r in caplog.records if r.name == "momento_http"]
    assert "not stored: no answer within 2 s (PUT " in record.getMessage()
    assert faulty.fault_hits == {"stall": 2}
