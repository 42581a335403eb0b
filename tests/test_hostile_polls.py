"""Subscriptions against a raw loopback server that answers polls as no sane server would.

A server answering at once with nothing new, answers of millions of entries, pages that
flip back, and subscriptions dropped without `async with`: each must end in bounded work,
a `MomentoError`, or a released connection, never a spin, a stall or a repeat.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import h11
import pytest
from anyio.abc import SocketStream
from conftest import EVENT_LOOPS, Sleeps, no_wait, peak_memory_mib, take
from raw_http import answer, raw_server

from momento_http import (
    Discontinuity,
    Heartbeat,
    MalformedResponseError,
    MomentoClient,
    RetryPolicy,
    TopicEvent,
    TopicItem,
)
from momento_http._topics._poll_parsing import MAX_POLL_ENTRIES
from momento_http._topics._topic_polls import MAX_POLL_BYTES

TOKEN = "hostile-polls-token-0123456789abcdef"

Answer = Callable[[h11.Connection, SocketStream], Awaitable[None]]


@pytest.fixture(scope="module", params=EVENT_LOOPS)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """A poll's deadline and retries run on the caller's loop: each is held to the same."""
    return str(request.param)


def entries(*items: dict[str, Any]) -> bytes:
    return json.dumps({"items": list(items)}).encode()


def item(number: int, page: int = 7, value: str = "m") -> dict[str, Any]:
    return {
        "item": {"topic_sequence_number": number, "sequence_page": page, "value": {"text": value}}
    }


def body(content: bytes) -> Answer:
    async def send(connection: h11.Connection, stream: SocketStream) -> None:
        await answer(connection, stream, body=content)

    return send


async def no_content(connection: h11.Connection, stream: SocketStream) -> None:
    data = connection.send(h11.Response(status_code=204, headers=[])) or b""
    await stream.send(data + (connection.send(h11.EndOfMessage()) or b""))


async def hold_forever(connection: h11.Connection, stream: SocketStream) -> None:
    del connection, stream
    await anyio.sleep_forever()


def held(seconds: float, then: Answer) -> Answer:
    """A long poll: the server holds it, then answers."""

    async def send(connection: h11.Connection, stream: SocketStream) -> None:
        await anyio.sleep(seconds)
        await then(connection, stream)

    return send


def in_turn(*answers: Answer) -> Any:
    """A behaviour answering the server's polls, across connections, with these in turn."""
    polls = iter(answers)

    async def behave(_: int, connection: h11.Connection, stream: SocketStream) -> None:
        await next(polls, hold_forever)(connection, stream)

    return behave


@pytest.fixture
def top_of_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each backoff is its ceiling, so that a test can tell which one it was."""
    monkeypatch.setattr(random, "uniform", lambda low, high: high)


# --- a server answering at once with nothing new ---------------------------------------

QUIET: dict[str, Answer] = {
    "empty items": body(entries()),
    "204": no_content,
    "heartbeats only": body(entries({"heartbeat": {}}, {"heartbeat": {}})),
    "messages already yielded": body(entries(item(3), item(4))),
}


@pytest.mark.usefixtures("top_of_jitter")
@pytest.mark.parametrize("quiet", QUIET)
async def test_answers_at_once_with_nothing_new_back_off(quiet: str) -> None:
    sleeps = Sleeps()
    retry = RetryPolicy(base_delay=100, max_delay=1000, sleep=sleeps)
    behaviour = in_turn(*[QUIET[quiet]] * 6, body(entries(item(5, value="news"))))
    async with (
        raw_server(behaviour) as (url, observed),
        MomentoClient(TOKEN, base_url=url, retry=retry) as client,
        client.subscribe("cache", "topic", sequence_number=5, sequence_page=7) as subscription,
    ):
        (event,) = await take(subscription, 1)
    assert event == TopicItem("news", 5, 7)
    assert len(observed.requests) == 7
    assert sleeps.delays == [100, 200, 400, 800, 1000, 1000]  # one after each quiet answer


@pytest.mark.usefixtures("top_of_jitter")
async def test_anything_new_starts_the_backoff_anew() -> None:
    sleeps = Sleeps()
    retry = RetryPolicy(base_delay=1, max_delay=1000, sleep=sleeps)
    empty = body(entries())
    behaviour = in_turn(*[empty] * 8, body(entries(item(1))), empty, body(entries(item(2))))
    async with (
        raw_server(behaviour) as (url, _),
        MomentoClient(TOKEN, base_url=url, retry=retry) as client,
        client.subscribe("cache", "topic", sequence_number=1) as subscription,
    ):
        events = await take(subscription, 2)
    assert [e.sequence_number for e in events if isinstance(e, TopicItem)] == [1, 2]
    assert sleeps.delays == [1, 2, 4, 8, 16, 32, 64, 128, 1]


async def test_a_healthy_long_poll_is_not_delayed() -> None:
    sleeps = Sleeps()
    retry = RetryPolicy(base_delay=0.05, sleep=sleeps)
    # Held past base_delay: long polls, not a spin.
    empty, beat = held(0.2, body(entries())), held(0.2, body(entries({"heartbeat": {}})))
    behaviour = in_turn(empty, beat, empty, body(entries(item(1))))
    async with (
        raw_server(behaviour) as (url, observed),
        MomentoClient(TOKEN, base_url=url, retry=retry) as client,
        client.subscribe("cache", "topic", sequence_number=1) as subscription,
    ):
        (event,) = await take(subscription, 1)
    assert isinstance(event, TopicItem)
    assert len(observed.requests) == 4
    assert sleeps.delays == []


async def test_heartbeats_asked_for_are_yielded_and_still_back_off() -> None:
    sleeps = Sleeps()
    retry = RetryPolicy(sleep=sleeps)
    beat = body(entries({"heartbeat": {}}))
    async with (
        raw_server(in_turn(beat, beat, beat)) as (url, _),
        MomentoClient(TOKEN, base_url=url, retry=retry) as client,
        client.subscribe("cache", "topic", heartbeats=True) as subscription,
    ):
        events = await take(subscription, 3)
    assert events == [Heartbeat()] * 3
    assert len(sleeps.delays) == 2  # before the second and the third poll


# --- answers too large to parse ------------------------------------------------------------


def refused_after(content: bytes) -> Any:
    """Answer the first poll with `content`; any other with a 400, which ends a subscription."""

    async def behave(index: int, connection: h11.Connection, stream: SocketStream) -> None:
        if index == 0:
            await answer(connection, stream, body=content)
        else:
            await answer(connection, stream, body=b"", status=400)

    return behave


def filled(entry: bytes, *, head: bytes = b'{"items": [', count: int | None = None) -> bytes:
    """An answer of `count` entries, or of as many as fit under the size cap."""
    if count is None:
        count = (MAX_POLL_BYTES - len(head) - 2) // (len(entry) + 1)
    return head + (entry + b",") * (count - 1) + entry + b"]}"


# Each answer made as a test asks for it: three of them take 48 MB.
OVERSIZED: dict[str, tuple[Callable[[], bytes], str]] = {
    "one entry too many": (
        lambda: filled(b'{"heartbeat": {}}', count=MAX_POLL_ENTRIES + 1),
        f"holds {MAX_POLL_ENTRIES + 1} entries, over {MAX_POLL_ENTRIES}",
    ),
    "5.6 million empty objects": (lambda: filled(b"{}"), "JSON values, more than"),
    "a million heartbeats": (lambda: filled(b'{"heartbeat":{}}'), "JSON values, more than"),
    "a field this SDK does not know, of 5.6 million arrays": (
        lambda: filled(b"[]", head=b'{"items": [], "unknown": ['),
        "JSON values, more than",
    ),
}


@pytest.mark.parametrize("oversized", OVERSIZED)
async def test_an_answer_of_too_many_entries_is_malformed(oversized: str) -> None:
    make, words = OVERSIZED[oversized]
    async with (
        raw_server(refused_after(make())) as (url, observed),
        MomentoClient(TOKEN, base_url=url, retry=None) as client,
        client.subscribe("cache", "topic", sequence_number=1) as subscription,
    ):
        with pytest.raises(MalformedResponseError) as caught:
            await take(subscription, 1)
    assert words in caught.value.message
    assert len(observed.requests) == 1


MEMORY_PROBE = """
import sys
import anyio
sys.path.insert(0, "tests")
import test_hostile_polls as polls
from raw_http import raw_server
from momento_http import MalformedResponseError, MomentoClient

async def main():
    for name in ("5.6 million empty objects", "a million heartbeats"):
        make, _ = polls.OVERSIZED[name]
        async with (
            raw_server(polls.refused_after(make())) as (url, _),
            MomentoClient(polls.TOKEN, base_url=url, retry=None) as client,
        ):
            try:
                await polls.take(client.subscribe("cache", "topic", sequence_number=1), 1)
            except MalformedResponseError:
                pass

anyio.run(main, backend=sys.argv[1])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_an_answer_of_millions_of_entries_keeps_memory_bounded(backend: str) -> None:
    # Parsed whole, the empty objects alone take 450 MB; the 16 MB answer is read and
    # counted in a few copies of itself.
    assert peak_memory_mib(MEMORY_PROBE, backend) < 200


# --- pages that flip back ---------------------------------------------------------------


async def test_a_page_that_flips_back_yields_nothing_twice() -> None:
    behaviour = in_turn(
        body(entries(*(item(n, page=100) for n in (1, 2, 3)))),
        body(entries(item(1, page=200))),
        body(entries(*(item(n, page=100) for n in (1, 2, 3, 4)))),
        body(entries({"discontinuity": {"new_topic_sequence": 1, "new_sequence_page": 200}})),
        body(entries(item(1, page=200), item(2, page=200))),
    )
    retry = RetryPolicy(sleep=no_wait)
    async with (
        raw_server(behaviour) as (url, _),
        MomentoClient(TOKEN, base_url=url, retry=retry) as client,
        client.subscribe("cache", "topic", sequence_number=1, sequence_page=100) as subscription,
    ):
        events = await take(subscription, 9)
    assert events == [
        TopicItem("m", 1, 100),
        TopicItem("m", 2, 100),
        TopicItem("m", 3, 100),
        Discontinuity(3, 1, 200),
        TopicItem("m", 1, 200),
        Discontinuity(1, 4, 100),  # items 1 to 3 of page 100 were yielded: skipped
        TopicItem("m", 4, 100),
        Discontinuity(4, 2, 200),  # the notice of page 200 from 1, and item 1: skipped
        TopicItem("m", 2, 200),
    ]
    assert (subscription.next_sequence_number, subscription.sequence_page) == (3, 200)


# --- what the cursor makes of numbers and pages left out --------------------------------


async def events_of(count: int, *answers: Answer, **position: int) -> list[TopicEvent]:
    """The first events a subscription yields, its polls answered with these in turn."""
    async with (
        raw_server(in_turn(*answers)) as (url, _),
        MomentoClient(TOKEN, base_url=url, retry=RetryPolicy(sleep=no_wait)) as client,
        client.subscribe("cache", "topic", **position) as subscription,  # type: ignore[arg-type]
    ):
        return await take(subscription, count)


async def test_a_gap_only_notice_repeated_at_the_cursor_is_yielded_once() -> None:
    gap = {"discontinuity": {"last_topic_sequence": 1, "new_topic_sequence": 5}}
    events = await events_of(
        2,
        body(entries(gap)),
        body(entries(gap)),  # its new number is where the cursor stands now: stale
        body(entries(item(5))),
        sequence_number=2,
        sequence_page=7,
    )
    assert events == [Discontinuity(1, 5, 7), TopicItem("m", 5, 7)]


async def test_items_without_a_page_are_on_the_page_resumed_from() -> None:
    def pageless(number: int) -> dict[str, Any]:
        return {"item": {"topic_sequence_number": number, "value": {"text": "m"}}}

    events = await events_of(
        2, body(entries(pageless(3), pageless(4))), sequence_number=3, sequence_page=7
    )
    assert events == [TopicItem("m", 3, 7), TopicItem("m", 4, 7)]


async def test_a_notice_without_a_page_is_on_the_cursors_page() -> None:
    gap = {"discontinuity": {"last_topic_sequence": 1, "new_topic_sequence": 5}}
    events = await events_of(
        2, body(entries(gap)), body(entries(item(5))), sequence_number=2, sequence_page=7
    )
    assert events == [Discontinuity(1, 5, 7), TopicItem("m", 5, 7)]


async def test_an_unknown_start_is_said_once_on_a_page_numbered_from_0() -> None:
    restart = {"discontinuity": {"new_topic_sequence": 0, "new_sequence_page": 9}}
    events = await events_of(
        3,
        body(entries()),  # no position, no message: what came before the next poll is lost
        body(entries(restart)),
        body(entries(item(0, page=9), item(1, page=9))),
    )
    assert events == [
        Discontinuity(0, 0, 9, unknown_start=True),
        TopicItem("m", 0, 9),
        TopicItem("m", 1, 9),
    ]


# --- subscriptions dropped without `async with` ----------------------------------------


def answer_then_watch(closed: anyio.Event) -> Any:
    """Answer the first poll with a message, then set `closed` when the client hangs up."""

    async def behave(index: int, connection: h11.Connection, stream: SocketStream) -> None:
        assert index == 0, "polled again after the subscription was left"
        await answer(connection, stream, body=entries(item(1)))
        try:
            await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            closed.set()

    return behave


@pytest.mark.parametrize("how", ["break", "break, then del"])
async def test_a_subscription_left_without_async_with_releases_its_connection(how: str) -> None:
    closed = anyio.Event()
    async with (
        raw_server(answer_then_watch(closed)) as (url, observed),
        MomentoClient(TOKEN, base_url=url, retry=None) as client,
    ):
        events: list[TopicEvent] = []
        if how == "break":
            async for event in client.subscribe("cache", "topic", sequence_number=1):
                events.append(event)
                break
        else:
            subscription = client.subscribe("cache", "topic", sequence_number=1)
            async for event in subscription:
                events.append(event)
                break
            del subscription
        assert events == [TopicItem("m", 1, 7)]
        with anyio.fail_after(5):
            await closed.wait()  # before the client closes
    assert observed.connections == 1
