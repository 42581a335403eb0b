"""Retries and timeouts: against the local server's faults, with a sleep that only records."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
from conftest import CACHE, EVERY_LOOP, Sleeps, free_port, unique, until

from momento_http import (
    AuthenticationError,
    CacheNotFoundError,
    InvalidArgumentError,
    LimitExceededError,
    MalformedResponseError,
    MomentoClient,
    MomentoConnectionError,
    MomentoError,
    MomentoTimeoutError,
    PermissionDeniedError,
    RetryPolicy,
    ServerError,
    TopicItem,
)
from momento_http.local import Fault, LocalServer


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def policy(sleeps: Sleeps, **options: Any) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps, **options)


Call = Callable[[MomentoClient], Awaitable[object]]

IDEMPOTENT: dict[str, tuple[str, Call]] = {
    "get": ("GET", lambda c: c.get(CACHE, "k")),
    "set": ("PUT", lambda c: c.set(CACHE, "k", b"v", ttl=5)),
    "delete": ("DELETE", lambda c: c.delete(CACHE, "k")),
}


# --- the policy itself ----------------------------------------------------------------


def test_backoff_is_jittered_below_a_capped_exponential_ceiling() -> None:
    retry = RetryPolicy(base_delay=0.1, max_delay=1.0)
    for attempt, ceiling in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (80, 1.0)]:
        delays = [retry.delay(attempt) for _ in range(200)]
        assert all(0 <= delay <= ceiling for delay in delays)
        assert max(delays) > ceiling / 2  # jitter spreads over the range, not stuck at 0


def test_retry_after_is_honoured_up_to_its_bound() -> None:
    retry = RetryPolicy(max_retry_after=30)
    assert retry.delay(1, retry_after=7) == 7
    assert retry.delay(1, retry_after=0) == 0
    assert retry.delay(1, retry_after=3600) == 30


def test_a_retry_after_is_waited_only_within_the_time_left() -> None:
    retry = RetryPolicy(max_retry_after=30)
    asked = ServerError("busy", retry_after=7, status_code=503)
    assert retry.retry_delay(asked, 1, limit=3, idempotent=True, time_left=7) == 7
    assert retry.retry_delay(asked, 1, limit=3, idempotent=True, time_left=6.9) is None
    capped = LimitExceededError("slow", retry_after=3600, status_code=429)
    assert retry.retry_delay(capped, 1, limit=3, idempotent=True, time_left=30) == 30
    assert retry.retry_delay(capped, 1, limit=3, idempotent=True, time_left=29) is None
    unasked = ServerError("busy", status_code=503)  # backoff is bounded by max_delay alone
    assert retry.retry_delay(unasked, 1, limit=3, idempotent=True, time_left=0) is not None


@pytest.mark.parametrize(
    "options",
    [
        {"max_attempts": 0},
        {"max_attempts": True},
        {"max_poll_failures": 0},
        {"base_delay": -1},
        {"max_delay": float("nan")},
        {"max_retry_after": "5"},
    ],
)
def test_a_malformed_policy_is_rejected(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        RetryPolicy(**options)


def test_a_client_takes_only_a_policy_or_none() -> None:
    with pytest.raises(InvalidArgumentError, match="RetryPolicy"):
        MomentoClient("t", base_url="http://127.0.0.1:9", retry=3)  # type: ignore[arg-type]


# --- idempotent calls -----------------------------------------------------------------


@pytest.mark.parametrize("operation", IDEMPOTENT)
@pytest.mark.parametrize(
    "fault",
    [
        Fault(503),
        Fault(500),
        Fault(502),
        Fault(429, retry_after=0.25),
        Fault(503, retry_after=0.25),
    ],
    ids=["503", "500", "502", "429", "503-retry-after"],
)
async def test_idempotent_calls_ride_out_transient_statuses(
    faulty: LocalServer, sleeps: Sleeps, operation: str, fault: Fault
) -> None:
    method, call = IDEMPOTENT[operation]
    faulty.inject_fault(replace(fault, method=method, count=2))
    async with MomentoClient(
        faulty.api_key, base_url=faulty.base_url, retry=policy(sleeps, max_attempts=3)
    ) as client:
        await call(client)
    assert len(sleeps.delays) == 2
    if fault.retry_after is not None:
        assert sleeps.delays == [0.25, 0.25]


async def test_the_last_failure_is_raised_when_attempts_run_out(
    faulty: LocalServer, sleeps: Sleeps
) -> None:
    faulty.inject_fault(Fault(503, message="still down", method="GET", count=3))
    async with MomentoClient(
        faulty.api_key, base_url=faulty.base_url, retry=policy(sleeps, max_attempts=3)
    ) as client:
        with pytest.raises(ServerError, match="still down") as caught:
            await client.get(CACHE, "k")
    assert caught.value.status_code == 503
    assert len(sleeps.delays) == 2


@pytest.mark.parametrize("status", [429, 503])
async def test_a_long_retry_after_is_capped(
    faulty: LocalServer, sleeps: Sleeps, status: int
) -> None:
    faulty.inject_fault(Fault(status, retry_after=3600, method="GET"))
    retry = policy(sleeps, max_retry_after=12)
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=retry) as client:
        assert await client.get(CACHE, "absent") is None
    assert sleeps.delays == [12]


async def test_a_503s_retry_after_is_on_its_error(faulty: LocalServer) -> None:
    faulty.inject_fault(Fault(503, retry_after=7, method="GET"))
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=None) as client:
        with pytest.raises(ServerError) as caught:
            await client.get(CACHE, "absent")
    assert caught.value.retry_after == 7


async def test_a_polls_503_retry_after_is_honoured(faulty: LocalServer, sleeps: Sleeps) -> None:
    topic = unique("retry-after")
    faulty.inject_fault(Fault(503, retry_after=2, method="GET", topic=topic, count=2))
    async with MomentoClient(
        faulty.api_key, base_url=faulty.base_url, retry=policy(sleeps)
    ) as client:
        await client.publish(CACHE, topic, "after the outage")
        async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
            event = await anext(aiter(subscription))
    assert isinstance(event, TopicItem)
    assert sleeps.delays == [2, 2]


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (MomentoConnectionError("x"), True),
        (MomentoTimeoutError("x"), True),
        (LimitExceededError("x", status_code=429), True),
        (ServerError("x", status_code=500), True),
        (ServerError("x", status_code=503), True),
        (MalformedResponseError("x", status_code=200), True),
        (MalformedResponseError("x", too_large=True, status_code=200), False),
        (ServerError("x", status_code=418), False),
        (ServerError("x", status_code=301), False),
        (ServerError("x", status_code=404), False),
        (InvalidArgumentError("x", status_code=400), False),
        (AuthenticationError("x", status_code=401), False),
        (PermissionDeniedError("x", status_code=403), False),
        (CacheNotFoundError("x", status_code=404), False),
    ],
)
def test_one_definition_of_transient_for_calls_and_polls(
    error: MomentoError, transient: bool
) -> None:
    retry = RetryPolicy()
    for limit in (retry.max_attempts, retry.max_poll_failures):
        delay = retry.retry_delay(error, 1, limit=limit, idempotent=True)
        assert (delay is not None) is transient


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, InvalidArgumentError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, CacheNotFoundError),
        (418, ServerError),
    ],
)
async def test_errors_a_retry_cannot_fix_are_raised_at_once(
    faulty: LocalServer, sleeps: Sleeps, status: int, error_type: type[Exception]
) -> None:
    faulty.inject_fault(Fault(status, message="Cache Not Found", method="PUT"))
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=policy(sleeps)) as c:
        with pytest.raises(error_type):
            await c.set(CACHE, "k", b"v", ttl=5)
    assert sleeps.delays == []


@pytest.mark.parametrize("operation", IDEMPOTENT)
async def test_connection_failures_are_retried(sleeps: Sleeps, operation: str) -> None:
    _, call = IDEMPOTENT[operation]
    async with MomentoClient(
        "t", base_url=f"http://127.0.0.1:{free_port()}", retry=policy(sleeps, max_attempts=4)
    ) as client:
        with pytest.raises(MomentoConnectionError) as caught:
            await call(client)
    assert caught.value.request_sent is False
    assert len(sleeps.delays) == 3


@EVERY_LOOP
async def test_a_stalled_get_times_out_and_its_retry_succeeds(
    faulty: LocalServer, sleeps: Sleeps
) -> None:
    faulty.inject_fault(Fault(delay=2, method="GET"))
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=policy(sleeps)) as c:
        await c.set(CACHE, "stalled", b"v", ttl=5)
        with anyio.fail_after(1.5):  # the stall is 2 s; the retry must not wait for it
            assert await c.get(CACHE, "stalled", timeout=0.2) == b"v"
    assert len(sleeps.delays) == 1


# --- per call -------------------------------------------------------------------------


async def test_retry_none_on_a_call_turns_retries_off(faulty: LocalServer, sleeps: Sleeps) -> None:
    faulty.inject_fault(Fault(503, method="GET"))
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=policy(sleeps)) as c:
        with pytest.raises(ServerError):
            await c.get(CACHE, "k", retry=None)
    assert sleeps.delays == []


async def test_a_calls_policy_replaces_the_clients(faulty: LocalServer, sleeps: Sleeps) -> None:
    faulty.inject_fault(Fault(503, method="GET", count=4))
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=None) as client:
        assert await client.get(CACHE, "k", retry=policy(sleeps, max_attempts=5)) is None
    assert len(sleeps.delays) == 4


@pytest.mark.parametrize("limit", [0.3, httpx.Timeout(0.3)], ids=["seconds", "httpx"])
async def test_a_calls_timeout_replaces_the_clients(
    faulty: LocalServer, limit: float | httpx.Timeout
) -> None:
    async with MomentoClient(
        faulty.api_key, base_url=faulty.base_url, timeout=30, retry=None
    ) as client:
        await client.get(CACHE, "warm")  # connected first: even a loaded machine sends in time
        faulty.inject_fault(Fault(delay=3, method="GET"))
        with pytest.raises(MomentoTimeoutError) as caught, anyio.fail_after(2.5):
            await client.get(CACHE, "k", timeout=limit)
    assert caught.value.request_sent is True


@pytest.mark.parametrize("limit", [0, -1, "1", True])
async def test_a_malformed_call_timeout_is_rejected(client: MomentoClient, limit: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="timeout"):
        await client.get(CACHE, "k", timeout=limit)


# --- publish: never twice unless asked ------------------------------------------------


async def _messages(client: MomentoClient, topic: str, count: int) -> list[str | bytes]:
    async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
        values: list[str | bytes] = []
        with anyio.move_on_after(1):  # the poll after the last message waits; stop then
            async for event in subscription:
                assert isinstance(event, TopicItem)
                values.append(event.value)
        assert len(values) >= count
        return values


@pytest.mark.parametrize("status", [503, 500, 429])
async def test_publish_is_not_retried_after_it_may_have_arrived(
    faulty: LocalServer, sleeps: Sleeps, status: int
) -> None:
    faulty.inject_fault(Fault(status, method="POST"))
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=policy(sleeps)) as c:
        with pytest.raises((ServerError, LimitExceededError)):
            await c.publish(CACHE, unique("once"), "m")
    assert sleeps.delays == []


@EVERY_LOOP
async def test_a_timed_out_publish_is_not_sent_again(faulty: LocalServer, sleeps: Sleeps) -> None:
    topic = unique("timed-out")
    # The server publishes, then answers late: the client cannot know it arrived.
    faulty.inject_fault(Fault(delay=0.8, method="POST", topic=topic))
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=policy(sleeps)) as c:
        await c.get(CACHE, "warm")  # connected first: even a loaded machine sends in time
        with pytest.raises(MomentoTimeoutError):
            await c.publish(CACHE, topic, "exactly once", timeout=0.3)
        await until(lambda: faulty.delayed_requests == 0, "the stalled publish to end")
        assert await _messages(c, topic, 1) == ["exactly once"]
    assert sleeps.delays == []


async def test_at_least_once_publish_retries_and_may_duplicate(
    faulty: LocalServer, sleeps: Sleeps
) -> None:
    topic = unique("at-least-once")
    faulty.inject_fault(Fault(delay=0.8, method="POST", topic=topic))
    retry = policy(sleeps, publish_at_least_once=True)
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=retry) as c:
        await c.get(CACHE, "warm")  # connected first: even a loaded machine sends in time
        await c.publish(CACHE, topic, "maybe twice", timeout=0.3)
        await until(lambda: faulty.delayed_requests == 0, "the stalled publishes to end")
        assert await _messages(c, topic, 2) == ["maybe twice", "maybe twice"]
    assert len(sleeps.delays) == 1


async def test_publish_is_retried_when_it_never_left(sleeps: Sleeps) -> None:
    async with MomentoClient(
        "t", base_url=f"http://127.0.0.1:{free_port()}", retry=policy(sleeps, max_attempts=3)
    ) as client:
        with pytest.raises(MomentoConnectionError):
            await client.publish(CACHE, "t", "m")
    assert len(sleeps.delays) == 2


async def test_subscriptions_back_off_with_the_policys_sleep(
    faulty: LocalServer, sleeps: Sleeps
) -> None:
    topic = unique("backoff")
    faulty.inject_fault(Fault(503, method="GET", topic=topic, count=3))
    async with MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=policy(sleeps)) as c:
        await c.publish(CACHE, topic, "after three failures")
        assert await _messages(c, topic, 1) == ["after three failures"]
    assert len(sleeps.delays) == 3
