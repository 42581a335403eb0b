"""An outage ridden out: no limit by default, logged as it grows, capped backoff."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace

import anyio
import anyio.lowlevel
import pytest
from conftest import CACHE, unique
from test_subscription import take

from momento_http import (
    AuthenticationError,
    CacheNotFoundError,
    MomentoClient,
    PermissionDeniedError,
    RetryPolicy,
    ServerError,
    SubscriptionStats,
    TopicItem,
)
from momento_http._outage import warns_at
from momento_http.local import Fault, LocalServer, Settings, TopicPermission, TopicRole

OUTAGE = 50  # failed polls in a row: past the old limit of 10 several times over
MAX_DELAY = RetryPolicy().max_delay


class Sleeps:
    """A retry policy's sleep that records each delay; `on` runs at the given sleeps."""

    def __init__(self, on: dict[int, Callable[[], Awaitable[None]]] | None = None) -> None:
        self.delays: list[float] = []
        self._on = on or {}

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        action = self._on.get(len(self.delays))
        if action is not None:
            await action()
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def topic() -> str:
    return unique("outage")


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
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
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
