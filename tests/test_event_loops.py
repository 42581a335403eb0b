"""One client across event loops: `asyncio.run` twice, trio, and one after the other."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest
import trio
from conftest import CACHE, unique

from momento_http import MomentoClient, MomentoConnectionError, MomentoError
from momento_http.local import LocalServer

Runner = Callable[[Callable[[], Coroutine[Any, Any, None]]], None]


def run_asyncio(job: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(job())


def run_trio(job: Callable[[], Coroutine[Any, Any, None]]) -> None:
    trio.run(job)


RUNNERS: dict[str, tuple[Runner, Runner]] = {
    "asyncio twice": (run_asyncio, run_asyncio),
    "trio twice": (run_trio, run_trio),
    "asyncio then trio": (run_asyncio, run_trio),
    "trio then asyncio": (run_trio, run_asyncio),
}


# The connection the first loop kept open cannot be closed once that loop has ended:
# it is dropped, and Python warns as it collects its socket. That is the cost of reuse.
def use_in_two_loops(
    server: LocalServer, first_run: Runner, second_run: Runner, *, own_http_client: bool
) -> tuple[list[bytes | None], list[tuple[type[MomentoError], str]]]:
    """Set a key in one event loop and get it in the next; what came back, what failed."""
    http = None if own_http_client else httpx.AsyncClient()
    client = MomentoClient(
        server.api_key, base_url=server.base_url, default_ttl=60, http_client=http
    )
    key = unique("two-loops")
    got: list[bytes | None] = []
    failures: list[tuple[type[MomentoError], str]] = []  # not the errors: their frames

    async def first() -> None:
        await client.set(CACHE, key, b"from the first loop")

    async def second() -> None:
        try:
            got.append(await client.get(CACHE, key))
        except MomentoError as error:  # a clear error is the other acceptable outcome
            failures.append((type(error), error.message))
        await client.aclose()
        if http is not None:
            with contextlib.suppress(RuntimeError):  # httpx's own pool, across backends
                await http.aclose()

    first_run(first)
    second_run(second)
    return got, failures


# The connection the first loop kept open cannot be closed once that loop has ended:
# it is dropped, and Python warns as it collects its socket. That is the cost of reuse.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("runners", RUNNERS)
@pytest.mark.parametrize("own_http_client", [True, False], ids=["own", "httpx-default"])
def test_a_client_keeps_working_in_a_second_event_loop(
    server: LocalServer, runners: str, own_http_client: bool
) -> None:
    first_run, second_run = RUNNERS[runners]
    got, failures = use_in_two_loops(server, first_run, second_run, own_http_client=own_http_client)
    gc.collect()  # the dropped sockets go now, under this test's warning filters
    if own_http_client or first_run is second_run:
        assert got == [b"from the first loop"]
    else:  # httpcore's pool cannot move between asyncio and trio: it says what to do
        ((kind, message),) = failures
        assert kind is MomentoConnectionError
        assert "belongs to the event loop it was first used in" in message
