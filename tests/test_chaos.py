"""Chaos: thousands of requests while a fifth of them fail; nothing lost, nothing doubled."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import anyio.abc
import pytest
from conftest import CACHE, no_wait

from momento_http import (
    Discontinuity,
    MomentoClient,
    MomentoError,
    RetryPolicy,
    TopicEvent,
    TopicItem,
)
from momento_http.local import Fault, LocalServer, Settings

TOPIC = "chaos"
MESSAGES = 10_000
PUBLISHERS = 8
PAIRS = 1_000
STALL = 0.3
TIMEOUT = 0.15  # below STALL: a stalled answer is a timeout for the client

# Each rule draws on its own; together they hit about 20 % of all requests.
CHAOS = [
    Fault(503, message="chaos", count=None, probability=0.04),
    Fault(429, message="chaos", retry_after=0, count=None, probability=0.04),
    Fault(disconnect="before_response", count=None, probability=0.04),
    Fault(disconnect="mid_body", count=None, probability=0.04),
    Fault(
        200,
        message='{"items": [{"item": ',
        content_type="application/json",
        method="GET",
        topic=TOPIC,
        count=None,
        probability=0.04,
    ),
    Fault(delay=STALL, count=None, probability=0.01),
]

PATIENT = RetryPolicy(max_attempts=12, max_poll_failures=25, sleep=no_wait)


@pytest.fixture
async def chaos_server() -> AsyncIterator[LocalServer]:
    settings = Settings(topic_ring_size=2 * MESSAGES, poll_hold_seconds=1)
    async with LocalServer([CACHE], settings=settings, faults=CHAOS, fault_seed=2026) as server:
        yield server


def _client(server: LocalServer) -> MomentoClient:
    return MomentoClient(
        server.api_key,
        base_url=server.base_url,
        timeout=TIMEOUT,
        poll_timeout=5,
        retry=PATIENT,
        default_ttl=600,
    )


async def test_every_message_once_in_order_under_chaos(chaos_server: LocalServer) -> None:
    started = time.perf_counter()
    published: set[str] = set()  # publish returned: the message must arrive
    uncertain: set[str] = set()  # publish raised: it may or may not have arrived
    events: list[TopicEvent] = []

    async def publisher(client: MomentoClient, index: int) -> None:
        for number in range(index, MESSAGES, PUBLISHERS):
            payload = f"message {number}"
            try:
                await client.publish(CACHE, TOPIC, payload)
            except MomentoError:
                uncertain.add(payload)
            else:
                published.add(payload)

    async def subscriber(client: MomentoClient) -> None:
        async with client.subscribe(CACHE, TOPIC, sequence_number=1) as subscription:
            async for event in subscription:
                events.append(event)
                if isinstance(event, TopicItem) and event.value == "the end":
                    return

    async def subscriber_from_now(
        client: MomentoClient, *, task_status: anyio.abc.TaskStatus[None]
    ) -> None:
        async with client.subscribe(CACHE, TOPIC) as subscription:  # no position
            task_status.started()  # its first poll is out
            async for event in subscription:
                from_now.append(event)
                if isinstance(event, TopicItem) and event.value == "the end":
                    return

    from_now: list[TopicEvent] = []
    async with _client(chaos_server) as client, anyio.create_task_group() as group:
        group.start_soon(subscriber, client)
        await group.start(subscriber_from_now, client)
        with anyio.fail_after(240):
            async with anyio.create_task_group() as publishers:
                for index in range(PUBLISHERS):
                    publishers.start_soon(publisher, client, index)
            while True:  # the end marker must land, or the subscriber never stops
                try:
                    await client.publish(CACHE, TOPIC, "the end", retry=PATIENT)
                    break
                except MomentoError:
                    continue

    assert not [event for event in events if isinstance(event, Discontinuity)]
    items = [event for event in events if isinstance(event, TopicItem)]
    numbers = [item.sequence_number for item in items]
    values = [item.value for item in items]
    assert numbers == list(range(1, len(items) + 1)), "a number was skipped or repeated"
    payloads = [value for value in values if value != "the end"]
    assert len(payloads) == len(set(payloads)), "a message was published twice"
    lost = published - set(payloads)
    assert not lost, f"{len(lost)} acknowledged messages never arrived"
    assert set(payloads) <= published | uncertain
    from_now_was = check_from_now(from_now, numbers)
    hits = chaos_server.fault_hits
    print(  # the figures for the record: pytest -s shows them
        f"\nchaos: {MESSAGES} published ({len(uncertain)} publish calls failed), "
        f"{len(items)} received in order, 0 lost, 0 duplicated; faults {hits}; "
        f"without a position: {from_now_was}; "
        f"{time.perf_counter() - started:.1f} s"
    )
    assert sum(hits.values()) > 0.1 * MESSAGES  # the faults really were injected


def check_from_now(events: list[TopicEvent], numbers: list[int]) -> str:
    """Check what a subscription with no position saw; say how it started.

    If answers were lost before it had a position, its first event says so (and from which
    message on); after that, nothing is skipped, repeated or reordered.
    """
    start, *rest = events
    lost_start = isinstance(start, Discontinuity) and start.unknown_start
    later = rest if lost_start else events
    assert all(isinstance(event, TopicItem) for event in later), "a gap after the start"
    first = later[0]
    assert isinstance(first, TopicItem)
    assert first.value != "the end"
    if lost_start:
        assert start == Discontinuity(0, first.sequence_number, first.sequence_page, True)
    seen = [event.sequence_number for event in later if isinstance(event, TopicItem)]
    assert seen == numbers[numbers.index(first.sequence_number) :]
    return f"from #{first.sequence_number}, start lost: {lost_start}"


async def test_set_and_get_pairs_all_succeed_under_chaos(chaos_server: LocalServer) -> None:
    started = time.perf_counter()

    async def pair(client: MomentoClient, index: int) -> None:
        value = f"value {index}".encode()
        await client.set(CACHE, f"key {index}", value)
        assert await client.get(CACHE, f"key {index}") == value

    async with _client(chaos_server) as client:
        with anyio.fail_after(120):
            for start in range(0, PAIRS, 50):  # 50 pairs in flight at a time
                async with anyio.create_task_group() as group:
                    for index in range(start, start + 50):
                        group.start_soon(pair, client, index)
    hits = chaos_server.fault_hits
    print(
        f"\nchaos: {PAIRS} set/get pairs all succeeded; faults {hits}; "
        f"{time.perf_counter() - started:.1f} s"
    )
    assert sum(hits.values()) > 0.1 * 2 * PAIRS  # the faults really were injected
