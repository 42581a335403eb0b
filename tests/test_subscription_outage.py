"""An outage ridden out: no limit by default, logged as it grows, a closed client ends it."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import httpx
import pytest
from conftest import CACHE, EVERY_LOOP, Sleeps, free_port, take, unique

from momento_http import (
    AuthenticationError,
    CacheNotFoundError,
    ClientClosedError,
    MomentoClient,
    PermissionDeniedError,
    RetryPolicy,
    ServerError,
    Subscription,
    SubscriptionStats,
    TopicEvent,
    TopicItem,
)
from momento_http._topics._outage import warns_at
from momento_http.local import Fault, LocalServer, Settings, TopicPermission, TopicRole

EXAMPLE = Path(__file__).parent.parent / "examples" / "topic_consumer.py"
OUTAGE = 50  # failed polls in a row: past the old limit of 10 several times over
MAX_DELAY = RetryPolicy().max_delay


@pytest.fixture
def topic() -> str:
    return unique("outage")


@pytest.fixture
def own_server() -> Iterator[LocalServer]:
    """A server of the test's own: the example the docs show uses the topic "orders"."""
    with LocalServer([CACHE], settings=Settings(poll_hold_seconds=30)) as running:
        yield running


def momento_records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "momento_http" and record.levelno == level
    ]


# --- ridden out -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "error_type"),
    [
        (Fault(503, message="down", method="GET"), "ServerError"),
        (Fault(disconnect="before_response", method="GET"), "MomentoConnectionError"),
    ],
    ids=["503", "cut"],
)
async def test_an_outage_of_50_failed_polls_is_ridden_out(
    faulty: LocalServer, topic: str, failure: Fault, error_type: str
) -> None:
    sleeps = Sleeps()
    faulty.inject_fault(replace(failure, topic=topic, count=OUTAGE))
    async with MomentoClient(
        faulty.api_key, base_url=faulty.base_url, retry=RetryPolicy(sleep=sleeps)
    ) as client:
        await client.publish(CACHE, topic, "after the outage")
        async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
            (event,) = await take(subscription, 1)
    assert isinstance(event, TopicItem)
    assert event.value == "after the outage"
    assert sum(faulty.fault_hits.values()) == OUTAGE
    assert len(sleeps.delays) == OUTAGE
    assert max(sleeps.delays) <= MAX_DELAY  # the backoff stays capped
    assert subscription.stats == SubscriptionStats(OUTAGE + 1, OUTAGE, OUTAGE, error_type, 0)


async def test_a_server_down_for_50_polls_is_waited_for() -> None:
    port = free_port()
    server = LocalServer([CACHE], port=port, settings=Settings(poll_hold_seconds=30))

    async def start_the_server() -> None:
        await anyio.to_thread.run_sync(server.start)

    sleeps = Sleeps(on={OUTAGE: start_the_server})
    try:
        async with MomentoClient(
            server.api_key, base_url=f"http://127.0.0.1:{port}", retry=RetryPolicy(sleep=sleeps)
        ) as client:
            with anyio.fail_after(10):
                async with client.subscribe(CACHE, "late") as subscription:  # waits it out
                    await server.wait_for_subscribers(CACHE, "late", timeout=5)
                    await client.publish(CACHE, "late", "up at last")
                    (event,) = await take(subscription, 1)
    finally:
        server.stop()
    assert isinstance(event, TopicItem)
    assert event.value == "up at last"
    assert len(sleeps.delays) == OUTAGE
    assert subscription.stats.failures == OUTAGE
    assert subscription.stats.last_error_type == "MomentoConnectionError"


# --- told in the log ------------------------------------------------------------------


async def test_an_outage_is_warned_of_as_it_grows_and_its_end_told_once(
    faulty: LocalServer, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="momento_http")
    faulty.inject_fault(Fault(503, message="down", method="GET", topic=topic, count=OUTAGE))
    async with MomentoClient(
        faulty.api_key, base_url=faulty.base_url, retry=RetryPolicy(sleep=Sleeps())
    ) as client:
        await client.publish(CACHE, topic, "back")
        async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
            await take(subscription, 1)
    warnings = momento_records(caplog, logging.WARNING)
    where = f"subscription to {CACHE!r}/{topic!r} resumes from sequence_number 1"
    assert warnings == [
        f"{where}: {count} polls in a row failed, the last with ServerError: down; "
        f"retrying for as long as it takes, at most {MAX_DELAY:.1f} s apart"
        for count in (3, 6, 12, 24, 48)
    ]
    back = [line for line in momento_records(caplog, logging.INFO) if " is back" in line]
    assert len(back) == 1
    assert re.fullmatch(
        rf"subscription to {re.escape(repr(CACHE))}/{re.escape(repr(topic))} is back: "
        rf"a poll was answered after {OUTAGE} failed in a row \(\d+\.\d s\)",
        back[0],
    ), back


async def test_a_blip_of_two_failures_warns_of_nothing(
    faulty: LocalServer, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="momento_http")
    faulty.inject_fault(Fault(503, method="GET", topic=topic, count=2))
    async with MomentoClient(
        faulty.api_key, base_url=faulty.base_url, retry=RetryPolicy(sleep=Sleeps())
    ) as client:
        await client.publish(CACHE, topic, "unbothered")
        async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
            await take(subscription, 1)
    assert subscription.stats.failures == 2
    assert momento_records(caplog, logging.WARNING) == []
    assert not [line for line in momento_records(caplog, logging.INFO) if " is back" in line]
    resumes = [line for line in momento_records(caplog, logging.INFO) if "try " in line]
    assert len(resumes) == 2  # each failure is still told, at INFO


def test_the_warnings_thin_out_as_an_outage_lasts() -> None:
    warned = [count for count in range(1, 2001) if warns_at(count)]
    assert warned == [3, 6, 12, 24, 48, 96, 192, 384, 768, 1152, 1536, 1920]


# --- what still ends it ---------------------------------------------------------------


async def test_an_explicit_limit_still_raises(
    faulty: LocalServer, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="momento_http")
    sleeps = Sleeps()
    faulty.inject_fault(Fault(503, message="down", method="GET", topic=topic, count=None))
    retry = RetryPolicy(max_poll_failures=3, sleep=sleeps)
    async with (
        MomentoClient(faulty.api_key, base_url=faulty.base_url, retry=retry) as client,
        client.subscribe(CACHE, topic, sequence_number=1) as subscription,
    ):
        with pytest.raises(ServerError, match="down"):
            await take(subscription, 1)
    assert faulty.fault_hits == {"status 503": 3}
    assert len(sleeps.delays) == 2
    assert subscription.stats == SubscriptionStats(3, 3, 2, "ServerError", 3)
    assert momento_records(caplog, logging.WARNING) == []  # the error itself says it


@pytest.mark.parametrize("refusal", ["401", "403", "404"])
async def test_a_failure_no_retry_can_fix_ends_it_at_once(
    server: LocalServer, topic: str, refusal: str
) -> None:
    token, cache, error_type = {
        "401": ("not-a-token", CACHE, AuthenticationError),
        "403": (
            server.mint_api_key([TopicPermission(TopicRole.PUBLISH_ONLY)]),
            CACHE,
            PermissionDeniedError,
        ),
        "404": (server.api_key, "no-such-cache", CacheNotFoundError),
    }[refusal]
    sleeps = Sleeps()
    async with (
        MomentoClient(token, base_url=server.base_url, retry=RetryPolicy(sleep=sleeps)) as client,
        client.subscribe(cache, topic) as subscription,
    ):
        with pytest.raises(error_type):
            await take(subscription, 1)
    assert sleeps.delays == []
    assert subscription.stats == SubscriptionStats(1, 1, 0, error_type.__name__, 1)


# --- a closed client ends it, and the loops the docs show -----------------------------


@EVERY_LOOP
async def test_a_poll_sent_as_the_client_closes_ends_the_iteration(
    own_server: LocalServer,
) -> None:
    # The client ends its subscriptions one by one, in the order they were opened: the
    # idle ones first. While it closes their connections, the busy one's next poll is
    # sent, and fails as the client is closed: that ends its iteration as the client would.
    closing, quiet = anyio.Event(), anyio.Event()

    async def held_until_closing(seconds: float) -> None:  # the wait after a quiet answer
        del seconds
        quiet.set()
        await closing.wait()

    retry = RetryPolicy(sleep=held_until_closing)
    client = MomentoClient(own_server.api_key, base_url=own_server.base_url, retry=retry)
    nothing = Fault(200, message='{"items": []}', content_type="application/json")
    own_server.inject_fault(replace(nothing, method="GET", topic="busy", count=None))
    events: list[object] = []

    async def read(subscription: Subscription) -> None:
        events.extend([event async for event in subscription])

    async with client, contextlib.AsyncExitStack() as stack:
        await client.publish(CACHE, "idle", "kept")
        idle = [
            await stack.enter_async_context(client.subscribe(CACHE, "idle", sequence_number=1))
            for _ in range(5)  # each yields as its connection closes: time for the busy one
        ]
        busy = await stack.enter_async_context(client.subscribe(CACHE, "busy", sequence_number=1))
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(read, busy)
                await quiet.wait()
                closing.set()
                await client.aclose()
    assert events == []
    assert all(subscription.closed for subscription in [*idle, busy])


async def test_a_closed_http_client_of_yours_is_an_error_not_an_end(server: LocalServer) -> None:
    async with httpx.AsyncClient() as http:
        pass
    async with (
        MomentoClient(server.api_key, base_url=server.base_url, http_client=http) as client,
        client.subscribe(CACHE, unique("orphan")) as subscription,
    ):
        with pytest.raises(ClientClosedError, match="http_client"):
            await take(subscription, 1)


Handler = Callable[[TopicEvent], Awaitable[None]]
Consumer = Callable[[MomentoClient, Handler], Coroutine[Any, Any, None]]


def documented(name: str, **names: object) -> Consumer:
    """The function `name` of the example docs/topics.md shows, run as it is printed.

    Args:
        name: `consume` or `consume_until_closed`.
        **names: Globals of the example to replace (its `anyio`, for the loop's wait).
    """
    scope: dict[str, Any] = {"__name__": EXAMPLE.stem}
    exec(compile(EXAMPLE.read_text(), str(EXAMPLE), "exec"), scope)
    scope.update({"CACHE": CACHE, **names})
    function: Consumer = scope[name]
    return function


@EVERY_LOOP
async def test_closing_the_client_mid_outage_ends_the_documented_consumer(
    own_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    handled: list[TopicEvent] = []
    riding_it_out = anyio.Event()

    async def outage_goes_on() -> None:
        riding_it_out.set()
        await anyio.sleep_forever()  # until the client's closing cancels it

    retry = RetryPolicy(sleep=Sleeps(on={5: outage_goes_on}))
    client = MomentoClient(own_server.api_key, base_url=own_server.base_url, retry=retry)

    async def handle(event: TopicEvent) -> None:
        handled.append(event)
        own_server.inject_fault(Fault(503, method="GET", topic="orders", count=None))
        await client.get("no-such-cache", "k")  # a call of its own fails: the loop goes on

    consume = documented("consume")
    async with client:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(consume, client, handle)
                await own_server.wait_for_subscribers(CACHE, "orders", timeout=5)
                await client.publish(CACHE, "orders", "the only one")
                await riding_it_out.wait()
                await client.aclose()  # the consumer must end, cleanly, on its own
    assert [event.value for event in handled if isinstance(event, TopicItem)] == ["the only one"]
    assert any(r.name == "orders" and "could not handle" in r.message for r in caplog.records)


async def test_the_documented_loop_ends_when_the_client_closes_between_subscriptions(
    own_server: LocalServer,
) -> None:
    own_server.inject_fault(Fault(503, method="GET", topic="orders", count=2))
    retry = RetryPolicy(max_poll_failures=2, sleep=Sleeps())
    client = MomentoClient(own_server.api_key, base_url=own_server.base_url, retry=retry)
    waits: list[float] = []

    async def wait_then_close(seconds: float) -> None:  # the loop's wait before resubscribing
        waits.append(seconds)
        if len(waits) > 1:
            pytest.fail("the loop went round again after the client was closed")
        await client.aclose()

    async def handle(event: TopicEvent) -> None:
        pytest.fail(f"nothing was published, yet {event!r} came")

    consume = documented("consume_until_closed", anyio=SimpleNamespace(sleep=wait_then_close))
    async with client:
        with anyio.fail_after(10):
            await consume(client, handle)
    assert len(waits) == 1  # one ServerError (the limit of 2), then the closed client


@EVERY_LOOP
async def test_the_documented_loop_ends_when_the_client_closes_while_it_reads(
    own_server: LocalServer,
) -> None:
    client = MomentoClient(own_server.api_key, base_url=own_server.base_url)
    handled: list[TopicEvent] = []

    async def handle(event: TopicEvent) -> None:
        handled.append(event)
        await client.aclose()

    async def never(seconds: float) -> None:
        pytest.fail(f"the loop saw an error and would wait {seconds} s to subscribe again")

    consume = documented("consume_until_closed", anyio=SimpleNamespace(sleep=never))
    async with client:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(consume, client, handle)
                await own_server.wait_for_subscribers(CACHE, "orders", timeout=5)
                await client.publish(CACHE, "orders", "last words")
    assert [event.value for event in handled if isinstance(event, TopicItem)] == ["last words"]
