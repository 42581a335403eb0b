"""The pytest fixtures we give users, run with pytester under each async test plugin."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from conftest import STRICT_WARNINGS

import momento_http.testing
from momento_http.testing import ServerClock

TYPED_USER_TESTS = (Path(__file__).parent / "plugin_user_suite.py").read_text(encoding="utf-8")

USER_TESTS = """
import pytest
import pytest_asyncio

from momento_http import MomentoClient, PermissionDeniedError, ServerError, TopicItem
from momento_http.local import CachePermission, CacheRole, Fault

{mark}


async def test_round_trip(momento_client):
    await momento_client.set("orders", "k", b"v")
    assert await momento_client.get("orders", "k") == b"v"


async def test_scoped_keys(momento_server, momento_api_key):
    key = momento_api_key([CachePermission(CacheRole.READ_ONLY)], expires_in=60)
    async with MomentoClient(key, base_url=momento_server.base_url) as reader:
        assert await reader.get("orders", "absent") is None
        with pytest.raises(PermissionDeniedError):
            await reader.set("orders", "k", b"v", ttl=5)


async def test_faults(momento_faults, momento_client):
    momento_faults.inject_fault(Fault(503, method="GET", count=1))
    with pytest.raises(ServerError):
        await momento_client.get("orders", "k", retry=None)
    assert await momento_client.get("orders", "absent") is None


async def test_subscription(momento_client):
    await momento_client.publish("orders", "news", "hello")
    async with momento_client.subscribe("orders", "news", sequence_number=1) as subscription:
        event = await subscription.__anext__()
    assert isinstance(event, TopicItem)
    assert event.value == "hello"


async def test_waiting_for_subscribers(momento_client, momento_wait_for_subscribers):
    async with momento_client.subscribe("orders", "start") as subscription:
        await momento_wait_for_subscribers("orders", "start")
        for value in ("m1", "m2", "m3"):
            await momento_client.publish("orders", "start", value)
        events = [await subscription.__anext__() for _ in range(3)]
    assert [e.value for e in events] == ["m1", "m2", "m3"]  # a session's topic: any numbers


@{fixture}
async def news(momento_client):  # set up and torn down in two tasks by pytest-asyncio
    async with momento_client.subscribe("orders", "news-feed") as subscription:
        yield subscription


async def test_a_subscription_from_a_yield_fixture(news, momento_client, momento_server):
    await momento_server.wait_for_subscribers("orders", "news-feed")
    await momento_client.publish("orders", "news-feed", "fresh")
    assert (await news.__anext__()).value == "fresh"
"""

CONFTEST = """
import pytest

pytest_plugins = ["momento_http.testing"]


@pytest.fixture(scope="session")
def momento_caches():
    return ["orders"]
{extra}
"""

ANYIO_BACKENDS = """

@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param
"""


class Setup(NamedTuple):
    mark: str
    fixture: str
    conftest_extra: str
    arguments: list[str]
    passed: int


SETUPS = {
    "pytest-asyncio strict": Setup(
        "pytestmark = pytest.mark.asyncio",
        "pytest_asyncio.fixture",
        "",
        ["-p", "asyncio", "-p", "no:anyio", "-o", "asyncio_mode=strict"],
        10,
    ),
    "pytest-asyncio auto": Setup(
        "",
        "pytest.fixture",
        "",
        ["-p", "asyncio", "-p", "no:anyio", "-o", "asyncio_mode=auto"],
        10,
    ),
    # What docs/testing.md says to set, with every warning an error.
    "pytest-asyncio strict, -W error": Setup(
        "pytestmark = pytest.mark.asyncio",
        "pytest_asyncio.fixture",
        "",
        [
            *("-p", "asyncio", "-p", "no:anyio", "-o", "asyncio_mode=strict", "-W", "error"),
            *("-o", "asyncio_default_fixture_loop_scope=function"),
        ],
        10,
    ),
    "anyio on asyncio and trio": Setup(
        "pytestmark = pytest.mark.anyio",
        "pytest.fixture",
        ANYIO_BACKENDS,
        ["-p", "no:asyncio"],
        20,
    ),
}


@pytest.mark.parametrize("mode", SETUPS)
def test_the_fixtures_work_under_each_async_plugin(pytester: pytest.Pytester, mode: str) -> None:
    setup = SETUPS[mode]
    pytester.makeconftest(CONFTEST.format(extra=setup.conftest_extra))
    pytester.makepyfile(
        test_user_code=USER_TESTS.format(mark=setup.mark, fixture=setup.fixture),
        test_typed_user_code=f"{TYPED_USER_TESTS}\n{setup.mark}\n",
    )
    result = pytester.runpytest_subprocess(*setup.arguments, *STRICT_WARNINGS, "-q")
    assert result.ret == 0, f"{mode}:\n" + "\n".join(result.outlines[-40:])
    result.assert_outcomes(passed=setup.passed)


def test_the_fixtures_types_are_exported() -> None:
    for name in ("ApiKeyFactory", "ServerClock", "WaitForSubscribers"):
        assert name in momento_http.testing.__all__
        assert getattr(momento_http.testing, name).__module__ == "momento_http.testing"


def test_the_clock_follows_the_time_it_is_given_moved_forward() -> None:
    now = [1_000.0]
    clock = ServerClock(lambda: now[0])
    clock.advance(60)
    clock.advance(timedelta(minutes=1))
    now[0] += 5
    assert clock() == 1_125.0


@pytest.mark.parametrize("seconds", [-1, math.nan, math.inf, "1", timedelta(seconds=-1)])
def test_the_clock_moves_forward_only(seconds: object) -> None:
    clock = ServerClock()
    with pytest.raises(ValueError, match="the clock moves forward only"):
        clock.advance(seconds)  # type: ignore[arg-type]
