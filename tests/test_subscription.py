"""Topic subscriptions against the local server over loopback, on asyncio and trio."""

from __future__ import annotations

import json
import resource
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import anyio
import pytest
from conftest import CACHE, EVERY_LOOP, FakeClock, no_wait, take, unique, until

from momento_http import (
    AuthenticationError,
    CacheNotFoundError,
    ClientClosedError,
    Discontinuity,
    Heartbeat,
    InvalidArgumentError,
    MalformedResponseError,
    MomentoClient,
    PermissionDeniedError,
    RetryPolicy,
    ServerError,
    Subscription,
    TopicEvent,
    TopicItem,
)
from momento_http.local import Fault, LocalServer, Settings, TopicPermission, TopicRole

FAST_RETRY = RetryPolicy(max_poll_failures=5, sleep=no_wait)


@pytest.fixture
def topic() -> str:
    return unique("topic")


@pytest.fixture
async def fast_client(server: LocalServer) -> AsyncIterator[MomentoClient]:
    """A client that backs off without waiting, and gives up after 5 failed polls."""
    async with MomentoClient(
        server.api_key, base_url=server.base_url, default_ttl=60, retry=FAST_RETRY
    ) as bound:
        yield bound


async def publish_all(client: MomentoClient, topic: str, values: list[str | bytes]) -> None:
    for value in values:
        await client.publish(CACHE, topic, value)


def items(events: list[TopicEvent]) -> list[TopicItem]:
    assert all(isinstance(event, TopicItem) for event in events), events
    return [event for event in events if isinstance(event, TopicItem)]


# --- delivery -------------------------------------------------------------------------


async def test_a_batch_of_1000_arrives_in_order(client: MomentoClient, topic: str) -> None:
    values: list[str | bytes] = [f"message {n}" for n in range(1, 1001)]
    await publish_all(client, topic, values)
    async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
        received = items(await take(subscription, 1000))
    assert [item.sequence_number for item in received] == list(range(1, 1001))
    assert [item.value for item in received] == values
    assert len({item.sequence_page for item in received}) == 1
    assert subscription.next_sequence_number == 1001


async def test_text_stays_text_and_binary_stays_bytes(client: MomentoClient, topic: str) -> None:
    values: list[str | bytes] = ["text ü", b"\x00\xff binary", "", b""]
    await publish_all(client, topic, values)
    async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
        received = items(await take(subscription, 4))
    assert [item.value for item in received] == values
    assert [type(item.value) for item in received] == [str, bytes, str, bytes]


async def test_a_new_subscription_starts_with_the_next_message(
    server: LocalServer, client: MomentoClient, topic: str
) -> None:
    await client.publish(CACHE, topic, "before")
    async with client.subscribe(CACHE, topic) as subscription:
        assert subscription.next_sequence_number == 0
        await server.wait_for_subscribers(CACHE, topic)
        await client.publish(CACHE, topic, "after")
        (event,) = await take(subscription, 1)
    assert isinstance(event, TopicItem)
    assert event.value == "after"
    assert event.sequence_number == 2


async def test_publisher_id_is_the_publishing_tokens_id(server: LocalServer, topic: str) -> None:
    token = server.mint_api_key(token_id="publisher-42")
    async with MomentoClient(token, base_url=server.base_url) as publisher:
        await publisher.publish(CACHE, topic, "signed")
        async with publisher.subscribe(CACHE, topic, sequence_number=1) as subscription:
            (event,) = items(await take(subscription, 1))
    assert event.publisher_id == "publisher-42"


async def test_ring_overflow_yields_a_discontinuity_with_exact_numbers() -> None:
    settings = Settings(topic_ring_size=5)
    async with (
        LocalServer([CACHE], settings=settings) as server,
        MomentoClient(server.api_key, base_url=server.base_url) as client,
    ):
        await publish_all(client, "ring", [str(n) for n in range(1, 9)])
        async with client.subscribe(CACHE, "ring", sequence_number=2) as subscription:
            events = await take(subscription, 6)
    gap, *rest = events
    assert isinstance(gap, Discontinuity)
    page = items(rest)[0].sequence_page
    assert gap == Discontinuity(
        last_sequence_number=1, new_sequence_number=4, new_sequence_page=page
    )
    assert [(i.sequence_number, i.value) for i in items(rest)] == [
        (4, "4"),
        (5, "5"),
        (6, "6"),
        (7, "7"),
        (8, "8"),
    ]
    assert subscription.next_sequence_number == 9


async def test_resume_after_a_client_restart_loses_and_repeats_nothing(
    server: LocalServer, topic: str
) -> None:
    async with MomentoClient(server.api_key, base_url=server.base_url) as first:
        await publish_all(first, topic, ["1", "2", "3", "4", "5"])
        async with first.subscribe(CACHE, topic, sequence_number=1) as subscription:
            seen = items(await take(subscription, 3))
            saved = (subscription.next_sequence_number, subscription.sequence_page)
    assert [item.value for item in seen] == ["1", "2", "3"]
    assert saved[0] == 4
    async with MomentoClient(server.api_key, base_url=server.base_url) as second:
        await publish_all(second, topic, ["6", "7"])
        async with second.subscribe(
            CACHE, topic, sequence_number=saved[0], sequence_page=saved[1]
        ) as resumed:
            rest = items(await take(resumed, 4))
    assert [item.value for item in rest] == ["4", "5", "6", "7"]
    assert [item.sequence_number for item in rest] == [4, 5, 6, 7]


async def test_a_page_change_after_topic_eviction_is_a_discontinuity(clock: FakeClock) -> None:
    settings = Settings(topic_idle_seconds=60, poll_hold_seconds=0.5)
    async with (
        LocalServer([CACHE], settings=settings, clock=clock) as server,
        MomentoClient(server.api_key, base_url=server.base_url) as client,
    ):
        await publish_all(client, "evicted", ["a", "b"])
        async with client.subscribe(CACHE, "evicted", sequence_number=1) as subscription:
            old = items(await take(subscription, 2))
            saved = (subscription.next_sequence_number, subscription.sequence_page)
        clock.advance(61)  # the topic has been idle past its limit: it is dropped
        await publish_all(client, "evicted", ["c"])
        async with client.subscribe(
            CACHE, "evicted", sequence_number=saved[0], sequence_page=saved[1]
        ) as resumed:
            gap, item = await take(resumed, 2)
    assert saved[0] == 3
    assert isinstance(item, TopicItem)
    assert item.value == "c"
    assert item.sequence_number == 1
    assert item.sequence_page is not None
    assert item.sequence_page != old[0].sequence_page
    assert gap == Discontinuity(2, 1, item.sequence_page)
    assert (resumed.next_sequence_number, resumed.sequence_page) == (2, item.sequence_page)


# --- what servers may send --------------------------------------------------------------


async def test_heartbeats_are_hidden_unless_asked_for() -> None:
    settings = Settings(heartbeat_seconds=0.05)
    async with (
        LocalServer([CACHE], settings=settings) as server,
        MomentoClient(server.api_key, base_url=server.base_url) as client,
    ):
        async with client.subscribe(CACHE, "beating", heartbeats=True) as subscription:
            assert await take(subscription, 2) == [Heartbeat(), Heartbeat()]
        async with (
            client.subscribe(CACHE, "beating", sequence_number=1) as quiet,
            anyio.create_task_group() as group,
        ):
            group.start_soon(_publish_after_polls, client, quiet, "beating", "after heartbeats")
            (event,) = await take(quiet, 1)
    assert isinstance(event, TopicItem)
    assert event.value == "after heartbeats"


async def _publish_after_polls(
    client: MomentoClient, subscription: Subscription, topic: str, value: str
) -> None:
    """Publish once three of the subscription's polls have ended without a message."""
    await until(lambda: subscription.stats.polls >= 3, "three quiet polls")
    await client.publish(CACHE, topic, value)


async def test_unknown_fields_and_kinds_are_ignored() -> None:
    async with (
        LocalServer([CACHE], settings=Settings(extra_fields=True)) as server,
        MomentoClient(server.api_key, base_url=server.base_url) as client,
    ):
        await publish_all(client, "future", ["x", b"y"])
        async with client.subscribe(CACHE, "future", sequence_number=1) as subscription:
            received = items(await take(subscription, 2))
    assert [item.value for item in received] == ["x", b"y"]


def canned(topic: str, *entries: dict[str, Any], count: int = 1) -> Fault:
    """Make the next polls of `topic` answer exactly these entries."""
    body = json.dumps({"items": list(entries)})
    return Fault(
        200, message=body, content_type="application/json", method="GET", topic=topic, count=count
    )


def wire_item(number: int, value: str, page: int = 7) -> dict[str, Any]:
    return {
        "item": {"topic_sequence_number": number, "sequence_page": page, "value": {"text": value}}
    }


async def test_a_repeated_message_is_yielded_once(
    faulty: LocalServer, fast_client: MomentoClient, topic: str
) -> None:
    faulty.inject_fault(canned(topic, wire_item(1, "one"), wire_item(2, "two")))
    faulty.inject_fault(
        canned(topic, wire_item(2, "two again"), wire_item(1, "one again"), wire_item(3, "three"))
    )
    async with fast_client.subscribe(CACHE, topic, sequence_number=1) as subscription:
        received = items(await take(subscription, 3))
    assert [item.value for item in received] == ["one", "two", "three"]


async def test_a_repeated_discontinuity_is_yielded_once(
    faulty: LocalServer, fast_client: MomentoClient, topic: str
) -> None:
    gap = {
        "discontinuity": {"last_topic_sequence": 1, "new_topic_sequence": 5, "new_sequence_page": 7}
    }
    faulty.inject_fault(canned(topic, gap, wire_item(5, "five")))
    faulty.inject_fault(canned(topic, gap, wire_item(5, "five"), wire_item(6, "six")))
    async with fast_client.subscribe(CACHE, topic, sequence_number=2, sequence_page=7) as sub:
        events = await take(sub, 3)
    assert events == [Discontinuity(1, 5, 7), TopicItem("five", 5, 7), TopicItem("six", 6, 7)]


async def test_skipped_numbers_and_a_silent_page_change_become_discontinuities(
    faulty: LocalServer, fast_client: MomentoClient, topic: str
) -> None:
    faulty.inject_fault(
        canned(topic, wire_item(1, "a"), wire_item(4, "d"), wire_item(1, "new page", page=8))
    )
    async with fast_client.subscribe(CACHE, topic, sequence_number=1) as subscription:
        events = await take(subscription, 5)
    assert events == [
        TopicItem("a", 1, 7),
        Discontinuity(1, 4, 7),
        TopicItem("d", 4, 7),
        Discontinuity(4, 1, 8),
        TopicItem("new page", 1, 8),
    ]
    assert (subscription.next_sequence_number, subscription.sequence_page) == (2, 8)


async def test_the_cursor_moves_only_with_what_was_yielded(
    faulty: LocalServer, fast_client: MomentoClient, topic: str
) -> None:
    faulty.inject_fault(canned(topic, wire_item(1, "a"), wire_item(2, "b"), wire_item(3, "c")))
    async with fast_client.subscribe(CACHE, topic, sequence_number=1) as subscription:
        await take(subscription, 1)
        assert subscription.next_sequence_number == 2  # "b" and "c" are buffered, not yielded
        await take(subscription, 1)
        assert subscription.next_sequence_number == 3


@pytest.mark.parametrize(
    "quiet", [Fault(204, method="GET"), Fault(200, message='{"items": []}', method="GET")]
)
@EVERY_LOOP
async def test_quiet_answers_mean_poll_again(
    faulty: LocalServer, fast_client: MomentoClient, topic: str, quiet: Fault
) -> None:
    await fast_client.publish(CACHE, topic, "after the quiet")
    faulty.inject_fault(replace(quiet, topic=topic, count=3))
    async with fast_client.subscribe(CACHE, topic, sequence_number=1) as subscription:
        (event,) = items(await take(subscription, 1))
    assert event.value == "after the quiet"


async def test_held_polls_that_end_empty_raise_nothing(clocked_server: LocalServer) -> None:
    # The clocked server holds a quiet poll 0.2 s, then answers with no items.
    async with (
        MomentoClient(clocked_server.api_key, base_url=clocked_server.base_url) as client,
        client.subscribe(CACHE, "silent") as subscription,
    ):
        with anyio.move_on_after(0.7) as waited:
            async for event in subscription:
                pytest.fail(f"a quiet topic yielded {event}")
    assert waited.cancelled_caught


@EVERY_LOOP
async def test_the_clients_own_poll_timeout_means_poll_again(
    server: LocalServer, topic: str
) -> None:
    # The session server holds quiet polls 0.5 s; this client stops waiting after 0.1 s.
    async with (
        MomentoClient(server.api_key, base_url=server.base_url, poll_timeout=0.1) as client,
        client.subscribe(CACHE, topic, sequence_number=1) as subscription,
        anyio.create_task_group() as group,
    ):
        group.start_soon(_publish_after_polls, client, subscription, topic, "late")
        (event,) = items(await take(subscription, 1))
    assert event.value == "late"


# --- failures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        Fault(503, method="GET", count=3),
        Fault(500, method="GET", count=2),
        Fault(429, method="GET", count=2, retry_after=0.01),
        Fault(200, message="{not json", content_type="application/json", method="GET", count=2),
        Fault(200, message="<html>oops</html>", content_type="text/html", method="GET"),
        Fault(200, message='{"items": [{"item": {"value": 5}}]}', method="GET"),
    ],
    ids=["503", "500", "429", "bad-json", "html", "wrong-types"],
)
async def test_transient_failures_are_retried_unseen(
    faulty: LocalServer, fast_client: MomentoClient, topic: str, failure: Fault
) -> None:
    await fast_client.publish(CACHE, topic, "survived")
    faulty.inject_fault(replace(failure, topic=topic))
    async with fast_client.subscribe(CACHE, topic, sequence_number=1) as subscription:
        (event,) = items(await take(subscription, 1))
    assert event.value == "survived"


async def test_too_many_failures_in_a_row_raise(
    faulty: LocalServer, fast_client: MomentoClient, topic: str
) -> None:
    faulty.inject_fault(Fault(503, message="down", method="GET", topic=topic, count=5))
    async with fast_client.subscribe(CACHE, topic, sequence_number=1) as subscription:
        with pytest.raises(ServerError) as caught:
            await take(subscription, 1)
    assert caught.value.status_code == 503
    assert caught.value.message == "down"


async def test_malformed_answers_in_a_row_raise_a_clear_error(
    faulty: LocalServer, fast_client: MomentoClient, topic: str
) -> None:
    faulty.inject_fault(
        Fault(200, message="{", content_type="application/json", method="GET", topic=topic, count=5)
    )
    async with fast_client.subscribe(CACHE, topic, sequence_number=1) as subscription:
        with pytest.raises(
            MalformedResponseError, match="malformed answer: the answer is not JSON"
        ):
            await take(subscription, 1)


async def test_a_bad_token_raises_from_the_iterator(server: LocalServer, topic: str) -> None:
    async with (
        MomentoClient("not-a-token", base_url=server.base_url) as client,
        client.subscribe(CACHE, topic) as subscription,
    ):
        with pytest.raises(AuthenticationError):
            await take(subscription, 1)


async def test_a_missing_permission_raises_from_the_iterator(
    server: LocalServer, topic: str
) -> None:
    token = server.mint_api_key([TopicPermission(TopicRole.PUBLISH_ONLY)])
    async with (
        MomentoClient(token, base_url=server.base_url) as client,
        client.subscribe(CACHE, topic) as subscription,
    ):
        with pytest.raises(PermissionDeniedError):
            await take(subscription, 1)


async def test_a_missing_cache_raises_from_the_iterator(client: MomentoClient, topic: str) -> None:
    async with client.subscribe("no-such-cache", topic) as subscription:
        with pytest.raises(CacheNotFoundError):
            await take(subscription, 1)


@pytest.mark.parametrize(
    "arguments",
    [
        {"cache": "", "topic": "t"},
        {"cache": CACHE, "topic": ""},
        {"cache": CACHE, "topic": "t", "sequence_number": -1},
        {"cache": CACHE, "topic": "t", "sequence_number": True},
        {"cache": CACHE, "topic": "t", "sequence_number": "5"},
        {"cache": CACHE, "topic": "t", "sequence_page": -3},
        {"cache": CACHE, "topic": "t", "sequence_page": 1.0},
    ],
)
async def test_bad_arguments_raise_at_once(
    client: MomentoClient, arguments: dict[str, Any]
) -> None:
    with pytest.raises(InvalidArgumentError):
        client.subscribe(**arguments)


# --- ending ---------------------------------------------------------------------------


@EVERY_LOOP
async def test_cancelling_the_task_ends_the_poll_at_once(topic: str) -> None:
    async with (
        LocalServer([CACHE], settings=Settings(poll_hold_seconds=60)) as server,
        MomentoClient(server.api_key, base_url=server.base_url, poll_timeout=60) as client,
    ):

        async def listen() -> None:
            async with client.subscribe(CACHE, topic) as subscription:
                async for _ in subscription:
                    pytest.fail("nothing was published")

        # A cancel that waited for the held poll's answer would take the 60 s hold.
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(listen)
                await server.wait_for_subscribers(CACHE, topic)
                group.cancel_scope.cancel()


@EVERY_LOOP
async def test_aclose_from_another_task_ends_the_iteration(
    server: LocalServer, client: MomentoClient, topic: str
) -> None:
    async def close_soon(subscription: Subscription) -> None:
        await server.wait_for_subscribers(CACHE, topic)
        await subscription.aclose()

    async with (
        client.subscribe(CACHE, topic) as subscription,
        anyio.create_task_group() as group,
    ):
        group.start_soon(close_soon, subscription)
        with anyio.fail_after(2):
            events = [event async for event in subscription]
    assert events == []
    assert subscription.closed
    await subscription.aclose()  # safe twice


async def test_breaking_out_leaves_the_client_usable(client: MomentoClient, topic: str) -> None:
    await publish_all(client, topic, ["1", "2", "3"])
    for _ in range(3):  # each round leaves a subscription behind, with nothing in flight
        async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
            async for _event in subscription:
                break
    await client.set(CACHE, "still-fine", b"yes")
    assert await client.get(CACHE, "still-fine") == b"yes"


@EVERY_LOOP
async def test_closing_the_client_ends_its_subscriptions(server: LocalServer, topic: str) -> None:
    client = MomentoClient(server.api_key, base_url=server.base_url)
    subscription = client.subscribe(CACHE, topic)
    async with anyio.create_task_group() as group:

        async def close_soon() -> None:
            await server.wait_for_subscribers(CACHE, topic)
            await client.aclose()

        group.start_soon(close_soon)
        with anyio.fail_after(2):
            assert [event async for event in subscription] == []
    assert subscription.closed
    with pytest.raises(ClientClosedError):
        client.subscribe(CACHE, topic)


@EVERY_LOOP
async def test_one_subscription_serves_one_task_at_a_time(
    client: MomentoClient, topic: str
) -> None:
    async with (
        client.subscribe(CACHE, topic) as subscription,
        anyio.create_task_group() as group,
    ):
        group.start_soon(subscription.__anext__)
        await anyio.wait_all_tasks_blocked()  # the first task waits in __anext__
        with pytest.raises(RuntimeError, match="another task"):
            await subscription.__anext__()
        group.cancel_scope.cancel()


@EVERY_LOOP
async def test_200_subscriptions_do_not_starve_unary_calls(
    server: LocalServer, client: MomentoClient, topic: str
) -> None:
    async with anyio.create_task_group() as group:
        for _ in range(200):
            group.start_soon(_listen_forever, client, topic)
        await server.wait_for_subscribers(CACHE, topic, count=200, timeout=30)
        await client.set(CACHE, "beside-polls", b"v")
        for _ in range(20):
            # A starved get would wait for a pooled connection until the 5 s timeout.
            with anyio.fail_after(1):
                assert await client.get(CACHE, "beside-polls") == b"v"
        group.cancel_scope.cancel()


async def _listen_forever(client: MomentoClient, topic: str) -> None:
    async with client.subscribe(CACHE, topic) as subscription:
        async for _ in subscription:
            pass


@pytest.fixture
def room_for_2500_sockets() -> None:
    """Client and server share this process: 1,000 polls need some 2,000 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2500
    if soft >= wanted:
        return
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"this machine allows {hard} open files; 1,000 polls need {wanted}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@pytest.mark.usefixtures("room_for_2500_sockets")
async def test_1000_concurrent_polls_on_one_server() -> None:
    received: list[TopicItem] = []

    async def wait_for_the_first(client: MomentoClient) -> None:
        async with client.subscribe(CACHE, "crowded", sequence_number=1) as subscription:
            (event,) = items(await take(subscription, 1))
            received.append(event)

    async with (
        LocalServer([CACHE]) as server,
        MomentoClient(server.api_key, base_url=server.base_url) as client,
        anyio.create_task_group() as group,
    ):
        for _ in range(1000):
            group.start_soon(wait_for_the_first, client)
        # A thousand connections opening at once, on a machine that may be running other
        # tests: bounds generous enough not to measure the machine, awaited, not slept.
        await server.wait_for_subscribers(CACHE, "crowded", count=1000, timeout=60)
        await client.publish(CACHE, "crowded", "to everyone", timeout=30)
    assert len(received) == 1000
    assert {(event.sequence_number, event.value) for event in received} == {(1, "to everyone")}


@pytest.fixture
def small_poll_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("momento_http._topics._topic_polls.MAX_POLL_BYTES", 1000)


@pytest.mark.usefixtures("small_poll_cap")
async def test_a_poll_answer_over_the_size_cap_ends_the_subscription_at_once(
    faulty: LocalServer, fast_client: MomentoClient, topic: str
) -> None:
    await fast_client.publish(CACHE, topic, "small enough")
    huge = json.dumps({"items": [wire_item(1, "x" * 2000)]})
    faulty.inject_fault(
        Fault(200, message=huge, content_type="application/json", topic=topic, count=1)
    )
    async with fast_client.subscribe(CACHE, topic, sequence_number=1) as subscription:
        # A retry would fetch as large an answer: not retried, though the next would fit.
        with pytest.raises(ServerError, match="over 1000 bytes"):
            await take(subscription, 1)
