"""Subscriptions: publish-to-yield latency, one subscription's top rate, and 1,000 at once."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import time
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import httpx
from servers import CACHE, Server

from momento_http import MomentoClient, Subscription, TopicItem


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


PERCENTILES = (50, 75, 90, 95, 99)


@dataclass(frozen=True)
class Latency:
    """Publish → yield, in milliseconds: through the local server, through the bare relay
    (the least a server can do, so what is left is the client's and the kernel's), and, for
    scale, an idle `get` round trip at the same rate.

    The `*percentiles_ms` lists hold the `PERCENTILES`, in order.
    """

    messages: int
    rate_per_second: float
    p50_ms: float
    p99_ms: float
    relay_p50_ms: float
    relay_p99_ms: float
    floor_p50_ms: float
    floor_p99_ms: float
    percentiles_ms: list[float]
    relay_percentiles_ms: list[float]
    floor_percentiles_ms: list[float]


async def measure_latency(
    server: Server, *, floor_server: Server, messages: int, rate: float
) -> Latency:
    """Publish at a steady rate; time each message from the publish call to its yield.

    Args:
        server: The local server.
        floor_server: The bare ASGI app: its topic relay, and the round trip of one `get`.
        messages: How many to publish.
        rate: Messages per second.

    Returns:
        The percentiles.
    """
    floor: list[float] = []
    async with MomentoClient(floor_server.token, base_url=floor_server.base_url) as client:
        for _ in range(messages):
            started = time.perf_counter()
            await client.get(CACHE, "k")
            floor.append(time.perf_counter() - started)
            await anyio.sleep(1 / rate)
    local = await _publish_to_yield(server, messages, rate)
    relay = await _publish_to_yield(floor_server, messages, rate)

    def at(samples: list[float]) -> list[float]:
        return [_percentile(samples, p / 100) * 1e3 for p in PERCENTILES]

    return Latency(
        messages,
        rate,
        _percentile(local, 0.5) * 1e3,
        _percentile(local, 0.99) * 1e3,
        _percentile(relay, 0.5) * 1e3,
        _percentile(relay, 0.99) * 1e3,
        _percentile(floor, 0.5) * 1e3,
        _percentile(floor, 0.99) * 1e3,
        at(local),
        at(relay),
        at(floor),
    )


async def _publish_to_yield(server: Server, messages: int, rate: float) -> list[float]:
    """Seconds from each publish call to the yield of its message, on an entered subscription."""
    topic = f"latency-{time.monotonic_ns()}"
    sent: dict[str, float] = {}
    latencies: list[float] = []
    async with MomentoClient(server.token, base_url=server.base_url) as client:
        subscription = client.subscribe(CACHE, topic)
        all_in = anyio.Event()
        async with subscription, anyio.create_task_group() as group:

            async def receive() -> None:
                async for event in subscription:
                    if isinstance(event, TopicItem) and event.value in sent:
                        latencies.append(time.perf_counter() - sent[str(event.value)])
                        if len(latencies) == messages:
                            all_in.set()

            group.start_soon(receive)
            await _until_listening(client, subscription, topic)
            for index in range(messages):
                value = f"m{index}"
                sent[value] = time.perf_counter()
                await client.publish(CACHE, topic, value)
                await anyio.sleep(1 / rate)
            with anyio.move_on_after(2):  # the relay drops what comes while no poll waits
                await all_in.wait()
            group.cancel_scope.cancel()
    return latencies


async def _until_listening(client: MomentoClient, subscription: Subscription, topic: str) -> None:
    """Publish warm-up messages until the subscription has seen one."""
    while subscription.next_sequence_number == 0:
        await client.publish(CACHE, topic, "warm-up")
        await anyio.sleep(0.05)


@dataclass(frozen=True)
class Throughput:
    """How fast one subscription yields a backlog the server hands over in batches."""

    messages: int
    batch_size: int
    messages_per_second: float


async def measure_throughput(server: Server, *, messages: int, batch_size: int) -> Throughput:
    """Fill a topic, then time one subscription reading it all from the first message.

    Args:
        server: A local server whose topics keep at least `messages` and whose polls carry
            `batch_size` items.
        messages: How many messages to read.
        batch_size: The server's batch size, for the report.

    Returns:
        The rate.
    """
    topic = f"throughput-{time.monotonic_ns()}"
    url = f"{server.base_url}/topics/{CACHE}/{topic}"
    headers = {"authorization": server.token, "content-type": "text/plain"}
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(limits=limits) as http, anyio.create_task_group() as group:

        async def publish(start: int) -> None:
            for index in range(start, messages, 32):
                (
                    await http.post(url, content=f"message {index}", headers=headers)
                ).raise_for_status()

        for start in range(32):
            group.start_soon(publish, start)
    received = 0
    async with MomentoClient(server.token, base_url=server.base_url) as client:
        started = time.perf_counter()
        async with client.subscribe(CACHE, topic, sequence_number=1) as subscription:
            async for event in subscription:
                received += isinstance(event, TopicItem)
                if received == messages:
                    break
        elapsed = time.perf_counter() - started
    return Throughput(messages, batch_size, messages / elapsed)


@dataclass(frozen=True)
class ManySubscriptions:
    """1,000 waiting subscriptions on one client: their memory, and what they do to a get."""

    subscriptions: int
    heap_kb_each: float
    rss_kb_each: float
    get_p99_ms_alone: float
    get_p99_ms_with_subscriptions: float


def _rss_kb() -> float:
    """The resident set after handing freed heap back to the system (glibc's malloc_trim)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 1024


async def _get_p99(client: MomentoClient, count: int) -> float:
    timings: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        await client.get(CACHE, "bench-key")
        timings.append(time.perf_counter() - started)
    return _percentile(timings, 0.99) * 1e3


async def measure_many(server: Server, *, subscriptions: int, gets: int) -> ManySubscriptions:
    """Open many subscriptions that all wait on a quiet topic; measure memory and get p99.

    Args:
        server: A local server holding quiet polls longer than the measurement.
        subscriptions: How many to open.
        gets: Sequential gets per p99 measurement.

    Returns:
        Client memory per subscription (Python heap and resident set) and get p99s.
    """
    async with MomentoClient(server.token, base_url=server.base_url, default_ttl=60) as client:
        await client.set(CACHE, "bench-key", b"v" * 100)
        alone = await _get_p99(client, gets)
        # The resident set first, without tracemalloc, whose own records would count too.
        rss_before = _rss_kb()
        async with _waiting(client, subscriptions):
            rss_each = (_rss_kb() - rss_before) / subscriptions
            crowded = await _get_p99(client, gets)
        gc.collect()
        tracemalloc.start()
        heap_before = tracemalloc.get_traced_memory()[0]
        async with _waiting(client, subscriptions):
            gc.collect()
            heap_each = (tracemalloc.get_traced_memory()[0] - heap_before) / subscriptions / 1024
        tracemalloc.stop()
    return ManySubscriptions(subscriptions, heap_each, rss_each, alone, crowded)


@asynccontextmanager
async def _waiting(client: MomentoClient, count: int) -> AsyncIterator[None]:
    """Hold `count` subscriptions as the docs show them: each entered, then iterated by a
    task of its own, with a poll waiting at the server."""
    async with anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(_wait_for_one, client.subscribe(CACHE, f"quiet-{index % 10}"))
        await anyio.sleep(2.0)  # every poll connected and waiting at the server
        yield
        group.cancel_scope.cancel()


async def _wait_for_one(subscription: Subscription) -> None:
    async with subscription:
        async for _ in subscription:
            return
