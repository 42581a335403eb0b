"""The pytest fixtures we give users, run with pytester under each async test plugin."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from conftest import STRICT_WARNINGS

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
        6,
    ),
    "pytest-asyncio auto": Setup(
        "",
        "pytest.fixture",
        "",
        ["-p", "asyncio", "-p", "no:anyio", "-o", "asyncio_mode=auto"],
        6,
    ),
    "anyio on asyncio and trio": Setup(
        "pytestmark = pytest.mark.anyio",
        "pytest.fixture",
        ANYIO_BACKENDS,
        ["-p", "no:asyncio"],
        12,
    ),
}


@pytest.mark.parametrize("mode", SETUPS)
def test_the_fixtures_work_under_each_async_plugin(pytester: pytest.Pytester, mode: str) -> None:
    setup = SETUPS[mode]
    pytester.makeconftest(CONFTEST.format(extra=setup.conftest_extra))
    pytester.makepyfile(test_user_code=USER_TESTS.format(mark=setup.mark, fixture=setup.fixture))
    result = pytester.runpytest_subprocess(*setup.arguments, *STRICT_WARNINGS, "-q")
    assert result.ret == 0, f"{mode}:\n" + "\n".join(result.outlines[-40:])
    result.assert_outcomes(passed=setup.passed)
