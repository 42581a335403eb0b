"""A subscription's start: sent on entering, deterministic in tests, never lost silently."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import FrozenInstanceError

import anyio
import httpx
import pytest
import trio
from conftest import CACHE, EVERY_LOOP, free_port, no_wait, take, unique, until

from momento_http import (
    Discontinuity,
    MomentoClient,
    MomentoTransport,
    RetryPolicy,
    ServerError,
    Subscription,
    SubscriptionStats,
    TopicEvent,
    TopicItem,
)
from momento_http.local import Fault, LocalServer, Settings

FAST_RETRY = RetryPolicy(max_poll_failures=5, sleep=no_wait)
ROUNDS = 20
HANG = 10  # seconds: no bound on speed, only on a hang (the server holds a poll 30 s)


@pytest.fixture(scope="module")
def holding() -> Iterator[LocalServer]:
    """A server that holds a quiet poll longer than any test here waits."""
    with LocalServer([CACHE], settings=Settings(poll_hold_seconds=30)) as server:
        yield server


@pytest.fixture
def faults(holding: LocalServer) -> Iterator[LocalServer]:
    holding.clear_faults()
    yield holding
    holding.clear_faults()


@pytest.fixture
async def client(holding: LocalServer) -> AsyncIterator[MomentoClient]:
    """A client of the holding server that retries at once, giving up after 5 failures."""
    async with MomentoClient(holding.api_key, base_url=holding.base_url, retry=FAST_RETRY) as bound:
        yield bound


@pytest.fixture
def topic() -> str:
    return unique("start")


def running_tasks() -> int:
    """How many tasks the event loop runs now, on asyncio or trio."""
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # not asyncio

        def count(task: trio.lowlevel.Task) -> int:
            children = [child for nursery in task.child_nurseries for child in nursery.child_tasks]
            return 1 + sum(count(child) for child in children)

        root = trio.lowlevel.current_root_task()
        assert root is not None
        return count(root)


async def read_into(received: list[TopicEvent], subscription: Subscription, count: int) -> None:
    received.extend(await take(subscription, count))


def values(events: list[TopicEvent]) -> list[object]:
    """Each event in short: a message's (number, value), or the event itself."""
    return [(e.sequence_number, e.value) if isinstance(e, TopicItem) else e for e in events]


# --- the start: sent on entering ------------------------------------------------------


async def test_subscribe_wait_publish_delivers_every_message_every_time(
    holding: LocalServer, client: MomentoClient
) -> None:
    rounds: list[list[object]] = []
    for _ in range(ROUNDS):
        topic = unique("round")
        received: list[TopicEvent] = []

        async with (
            client.subscribe(CACHE, topic) as subscription,
            anyio.create_task_group() as group,
        ):
            group.start_soon(read_into, received, subscription, 3)
            await holding.wait_for_subscribers(CACHE, topic, timeout=2)
            for value in ("m1", "m2", "m3"):
                await client.publish(CACHE, topic, value)
        rounds.append(values(received))
    assert rounds == [[(1, "m1"), (2, "m2"), (3, "m3")]] * ROUNDS


@EVERY_LOOP
async def test_entering_returns_once_the_first_poll_is_written(
    holding: LocalServer, client: MomentoClient, topic: str
) -> None:
    async with client.subscribe(CACHE, topic) as subscription:
        # Blocking the event loop: the poll reaches the server only if it was written
        # before entering returned.
        holding.wait_for_subscribers_sync(CACHE, topic, timeout=2)
        await client.publish(CACHE, topic, "first")
        (event,) = await take(subscription, 1)
    assert values([event]) == [(1, "first")]


@EVERY_LOOP
async def test_a_reader_task_started_late_still_gets_the_first_message(
    holding: LocalServer, client: MomentoClient, topic: str
) -> None:
    received: list[TopicEvent] = []
    async with (
        client.subscribe(CACHE, topic) as subscription,
        anyio.create_task_group() as group,
    ):
        for value in ("one", "two", "three"):  # the case: published at once
            await client.publish(CACHE, topic, value)
        group.start_soon(read_into, received, subscription, 3)
    assert values(received) == [(1, "one"), (2, "two"), (3, "three")]


@EVERY_LOOP
async def test_on_another_transport_entering_still_sends_the_first_poll(
    holding: LocalServer, topic: str
) -> None:
    # Entering that waited for a write report httpx's own transport never gives would wait
    # as long as the first poll lasts: it polls on while its answers are quiet.
    with anyio.fail_after(HANG):
        async with (
            httpx.AsyncClient() as http,  # httpx's own transport: it reports no writes
            MomentoClient(holding.api_key, base_url=holding.base_url, http_client=http) as client,
            client.subscribe(CACHE, topic) as subscription,
        ):
            await holding.wait_for_subscribers(CACHE, topic, timeout=2)  # with no `async for`
            await client.publish(CACHE, topic, "hello")
            (event,) = await take(subscription, 1)
    assert values([event]) == [(1, "hello")]


async def test_an_exit_stack_enters_it_as_async_with_does(
    holding: LocalServer, client: MomentoClient, topic: str
) -> None:
    async with contextlib.AsyncExitStack() as stack:  # for a subscription kept in an object
        subscription = await stack.enter_async_context(client.subscribe(CACHE, topic))
        holding.wait_for_subscribers_sync(CACHE, topic, timeout=2)  # written before returning
        await client.publish(CACHE, topic, "kept")
        (event,) = await take(subscription, 1)
    assert values([event]) == [(1, "kept")]
    assert subscription.closed


@EVERY_LOOP
async def test_it_may_be_entered_in_one_task_and_left_in_another(
    holding: LocalServer, client: MomentoClient, topic: str
) -> None:
    # As pytest-asyncio runs a yield fixture's setup and teardown, or a service its start
    # and its stop.
    tasks_before = running_tasks()
    subscription = client.subscribe(CACHE, topic)
    async with anyio.create_task_group() as setup:
        setup.start_soon(subscription.__aenter__)
    await holding.wait_for_subscribers(CACHE, topic, timeout=2)
    await client.publish(CACHE, topic, "across tasks")
    (event,) = await take(subscription, 1)
    async with anyio.create_task_group() as teardown:
        teardown.start_soon(subscription.__aexit__, None, None, None)
    assert values([event]) == [(1, "across tasks")]
    assert subscription.closed
    assert running_tasks() == tasks_before


async def test_errors_of_the_first_poll_come_from_the_iterator_not_the_block(
    faults: LocalServer, client: MomentoClient, topic: str
) -> None:
    faults.inject_fault(Fault(503, message="down", method="GET", topic=topic, count=5))
    async with client.subscribe(CACHE, topic) as subscription:
        await until(lambda: subscription.stats.failures == 5, "five failures")
        await anyio.wait_all_tasks_blocked()  # the block runs on: the failure did not cancel it
        with pytest.raises(ServerError, match="down"):
            await take(subscription, 1)
    assert subscription.stats == SubscriptionStats(5, 5, 4, "ServerError", 5)


async def test_an_error_in_the_block_leaves_it_as_it_is(client: MomentoClient, topic: str) -> None:
    with pytest.raises(KeyError):  # not an ExceptionGroup: the task group never sees it
        async with client.subscribe(CACHE, topic):
            raise KeyError(topic)


async def test_entering_twice_is_refused(client: MomentoClient, topic: str) -> None:
    async with client.subscribe(CACHE, topic) as subscription:
        with pytest.raises(RuntimeError, match="entered once"):
            await subscription.__aenter__()


async def test_a_failure_that_never_reached_a_server_leaves_the_start_known() -> None:
    port = free_port()
    server = LocalServer([CACHE], port=port, settings=Settings(poll_hold_seconds=30))

    async def start_the_server(seconds: float) -> None:  # the backoff after the first try
        del seconds
        await anyio.to_thread.run_sync(server.start)

    retry = RetryPolicy(max_poll_failures=2, sleep=start_the_server)
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with (
            MomentoClient(server.api_key, base_url=base_url, retry=retry) as client,
            client.subscribe(CACHE, "late") as subscription,  # entered once a try is written
        ):
            await server.wait_for_subscribers(CACHE, "late", timeout=2)
            await client.publish(CACHE, "late", "no gap")
            (event,) = await take(subscription, 1)
    finally:
        server.stop()
    assert values([event]) == [(1, "no gap")]  # the refused try could not have lost it
    assert subscription.stats == SubscriptionStats(2, 1, 1, "MomentoConnectionError")


async def test_stats_count_polls_failures_and_resumes(
    faults: LocalServer, client: MomentoClient, topic: str
) -> None:
    fresh = client.subscribe(CACHE, topic)
    assert fresh.stats == SubscriptionStats(0, 0, 0, None)
    with pytest.raises(FrozenInstanceError):
        fresh.stats.polls = 1  # type: ignore[misc]
    await fresh.aclose()
    await client.publish(CACHE, topic, "after two failures")
    faults.inject_fault(Fault(503, method="GET", topic=topic, count=2))
    async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
        await take(subscription, 1)
    assert subscription.stats == SubscriptionStats(3, 2, 2, "ServerError")


# --- a first answer lost ----------------------------------------------------------------


@pytest.mark.parametrize("cut", ["mid_body", "before_response"])
async def test_a_cut_first_answer_is_announced_before_the_next_message(
    faults: LocalServer,
    client: MomentoClient,
    topic: str,
    cut: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="momento_http")
    faults.inject_fault(Fault(disconnect=cut, method="GET", topic=topic))  # type: ignore[arg-type]
    async with client.subscribe(CACHE, topic) as subscription:
        await faults.wait_for_subscribers(CACHE, topic, timeout=2)
        await client.publish(CACHE, topic, "m1")  # its answer is cut
        await until(lambda: subscription.stats.failures == 1, "the cut")
        await faults.wait_for_subscribers(CACHE, topic, timeout=2)  # the retry
        await client.publish(CACHE, topic, "m2")
        gap, item = await take(subscription, 2)
    page = item.sequence_page  # type: ignore[union-attr]
    assert gap == Discontinuity(0, 2, page, unknown_start=True)
    match gap:  # what a caller's `match` sees
        case Discontinuity(unknown_start=True, new_sequence_number=2):
            pass
        case _:
            pytest.fail(f"not an unknown start: {gap}")
    assert values([item]) == [(2, "m2")]
    assert (subscription.next_sequence_number, subscription.sequence_page) == (3, page)
    assert subscription.stats == SubscriptionStats(2, 1, 1, "MomentoConnectionError")
    (resume,) = [r.getMessage() for r in caplog.records if r.name == "momento_http"]
    assert resume.startswith(
        f"subscription to '{CACHE}'/'{topic}' resumes from the next message published "
        "(its start is now unknown: a Discontinuity will say so): try 1 of 5 failed "
        "(MomentoConnectionError: "
    )


async def test_with_a_position_a_cut_answer_is_asked_for_again(
    faults: LocalServer, client: MomentoClient, topic: str
) -> None:
    await client.publish(CACHE, topic, "m1")
    faults.inject_fault(Fault(disconnect="mid_body", method="GET", topic=topic))
    async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
        events = await take(subscription, 1)
    assert values(events) == [(1, "m1")]
    assert subscription.stats.failures == 1


@pytest.mark.parametrize(
    "settings",
    [Settings(poll_hold_seconds=0.2), Settings(heartbeat_seconds=0.1)],
    ids=["empty-answer", "heartbeat"],
)
async def test_a_poll_with_no_position_answered_with_no_message_loses_the_start(
    settings: Settings, topic: str
) -> None:
    async with (
        LocalServer([CACHE], settings=settings) as server,
        MomentoClient(server.api_key, base_url=server.base_url) as client,
        client.subscribe(CACHE, topic) as subscription,
    ):
        await until(lambda: subscription.stats.polls >= 1, "a quiet answer")
        # The next poll asks for "the next message" again: what came in between is unknown.
        await client.publish(CACHE, topic, "later")
        gap, item = await take(subscription, 2)
    assert gap == Discontinuity(0, 1, item.sequence_page, unknown_start=True)  # type: ignore[union-attr]
    assert values([item]) == [(1, "later")]


@EVERY_LOOP
@pytest.mark.parametrize("transport", ["MomentoTransport", "httpx's own"])
async def test_without_entering_a_cancelled_first_poll_loses_the_start(
    holding: LocalServer, topic: str, transport: str
) -> None:
    # httpx's own transport does not say when a poll is written: a cancelled one may have
    # reached the server, and so it counts as such.
    async with (
        httpx.AsyncClient(
            transport=MomentoTransport() if transport == "MomentoTransport" else None
        ) as http,
        MomentoClient(
            holding.api_key, base_url=holding.base_url, retry=FAST_RETRY, http_client=http
        ) as client,
    ):
        subscription = client.subscribe(CACHE, topic)  # not entered: it polls as it is iterated
        async with anyio.create_task_group() as group:
            group.start_soon(take, subscription, 1)
            await holding.wait_for_subscribers(CACHE, topic, timeout=HANG)  # it reached it
            group.cancel_scope.cancel()
        await until(lambda: holding.held_polls(CACHE, topic) == 0, "the cancelled poll to go")
        await client.publish(CACHE, topic, "while nobody polled")
        async with anyio.create_task_group() as group:
            group.start_soon(_publish_when_held, holding, client, topic, "polled again")
            (first,) = await take(subscription, 1)
        # One event at a time: a start not known to be lost yields the message alone, and
        # waiting for two events would end in `take`'s time-out rather than in this assert.
        assert isinstance(first, Discontinuity), first
        (message,) = await take(subscription, 1)
        await subscription.aclose()
    assert values([first, message]) == [
        Discontinuity(0, 2, message.sequence_page, unknown_start=True),  # type: ignore[union-attr]
        (2, "polled again"),
    ]


async def _publish_when_held(
    server: LocalServer, client: MomentoClient, topic: str, value: str
) -> None:
    await server.wait_for_subscribers(CACHE, topic, timeout=2)
    await client.publish(CACHE, topic, value)


# --- ending during the first poll -------------------------------------------------------


@EVERY_LOOP
async def test_cancelling_during_the_first_poll_leaves_no_connection_or_task(
    holding: LocalServer, client: MomentoClient, topic: str
) -> None:
    tasks_before = running_tasks()
    entered = anyio.Event()
    subscriptions: list[Subscription] = []

    async def listen() -> None:
        async with client.subscribe(CACHE, topic) as subscription:
            subscriptions.append(subscription)
            entered.set()
            await anyio.sleep_forever()

    # A cancel that waited for the poll's answer would wait out the server's 30 s hold.
    with anyio.fail_after(HANG):
        async with anyio.create_task_group() as group:
            group.start_soon(listen)
            await entered.wait()
            await holding.wait_for_subscribers(CACHE, topic, timeout=2)
            group.cancel_scope.cancel()
    assert running_tasks() == tasks_before
    assert subscriptions[0].closed
    # The server notices its client went away only when the connection is closed.
    await until(lambda: holding.held_polls(CACHE, topic) == 0, "the connection to close")


@EVERY_LOOP
async def test_cancelling_while_entering_leaves_no_connection_or_task() -> None:
    tasks_before = running_tasks()
    # A server that never answers the TLS handshake: the first poll is never written.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        base_url = f"https://127.0.0.1:{silent.getsockname()[1]}"
        # Closing must not wait for the handshake, which never ends.
        with anyio.fail_after(HANG):
            async with MomentoClient("token", base_url=base_url) as client:
                subscription = client.subscribe(CACHE, "never")
                with anyio.move_on_after(0.3) as waiting:
                    async with subscription:
                        pytest.fail("entered although nothing was written")
                assert waiting.cancelled_caught
                assert subscription.closed
                assert running_tasks() == tasks_before


@EVERY_LOOP
async def test_closing_the_client_during_the_first_poll_ends_its_reader(
    holding: LocalServer, topic: str
) -> None:
    client = MomentoClient(holding.api_key, base_url=holding.base_url)

    async def close_when_held() -> None:
        await holding.wait_for_subscribers(CACHE, topic, timeout=2)
        await client.aclose()

    async with client.subscribe(CACHE, topic) as subscription, anyio.create_task_group() as group:
        group.start_soon(close_when_held)
        with anyio.fail_after(2):
            assert [event async for event in subscription] == []
    await until(lambda: holding.held_polls(CACHE, topic) == 0, "the connection to close")
