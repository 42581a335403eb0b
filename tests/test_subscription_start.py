"""A subscription's start and health: sent on entering, never lost silently, counted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import FrozenInstanceError

import pytest
from conftest import CACHE, no_wait, unique
from test_subscription import take

from momento_http import MomentoClient, RetryPolicy, SubscriptionStats
from momento_http.local import Fault, LocalServer, Settings

FAST_RETRY = RetryPolicy(max_poll_failures=5, sleep=no_wait)


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
