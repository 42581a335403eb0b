"""Errors that say what happened, and never the token: raw loopback servers that provoke them.

A bug in the caller's own code is raised as it is, not as a retryable connection error; an
answer over the cap is not fetched again; a `Retry-After` never outlasts the call's budget;
and a server echoing the token, in any header, reason phrase, body, or encoding of it, finds
it hidden in every error, log line and the command line's output.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel
import h11
import httpx
import pytest
from anyio.abc import SocketStream
from raw_http import Behaviour, raw_server

from momento_http import (
    MomentoClient,
    MomentoTransport,
    RetryPolicy,
    TopicEvent,
)

TOKEN = "hostile/secret+token=0123456789.abcdefXYZ"  # "/+=" change when percent-encoded


class Sleeps:
    """A retry policy's sleep that records each delay instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await anyio.lowlevel.checkpoint()


def replying(
    status: int,
    *headers: tuple[str, str],
    body: bytes = b"",
    reason: bytes = b"",
) -> Behaviour:
    """Answer every request alike, and keep the connection open for the next."""

    async def behave(_: int, connection: h11.Connection, stream: SocketStream) -> None:
        fields = [*headers, ("content-length", str(len(body)))]
        data = connection.send(h11.Response(status_code=status, headers=fields, reason=reason))
        data = (data or b"") + (connection.send(h11.Data(data=body)) or b"")
        await stream.send(data + (connection.send(h11.EndOfMessage()) or b""))

    return behave


async def get(client: MomentoClient) -> object:
    return await client.get("cache", "key")


async def first_event(client: MomentoClient) -> TopicEvent:
    async with client.subscribe("cache", "topic", sequence_number=1) as subscription:
        return await anext(aiter(subscription))


async def raised(
    url: str, call: Callable[[MomentoClient], Awaitable[object]], **options: Any
) -> BaseException:
    """What a call raises against the server at `url`, the client made with `options`."""
    async with MomentoClient(TOKEN, base_url=url, **options) as client:
        try:
            await call(client)
        except Exception as error:  # what it is, is what the test checks
            return error
    pytest.fail("the call raised nothing")


# --- a RuntimeError is the caller's own bug, unless an event loop raised it ----------------


def recurse() -> None:
    """A bug: endless recursion, through the event loop's clock (so the limit is reached in
    sniffio's or trio's frames, not only in this test's)."""
    anyio.current_time()
    recurse()


def innermost_module(error: BaseException) -> str:
    where = error.__traceback__
    assert where is not None
    while where.tb_next is not None:
        where = where.tb_next
    return str(where.tb_frame.f_globals["__name__"])


@pytest.mark.parametrize("transport", ["MomentoTransport", "httpx's own"])
@pytest.mark.parametrize("hook", ["request", "response"])
@pytest.mark.parametrize("bug", ["RuntimeError", "RecursionError"])
async def test_a_runtime_error_in_an_event_hook_is_raised_as_it_is(
    transport: str, hook: str, bug: str
) -> None:
    async def buggy(_: object) -> None:
        if bug == "RuntimeError":
            raise RuntimeError("the caller's own bug")
        recurse()

    sleeps = Sleeps()
    carrier = MomentoTransport() if transport == "MomentoTransport" else None
    async with (
        raw_server() as (url, observed),
        httpx.AsyncClient(transport=carrier, event_hooks={hook: [buggy]}) as http,
    ):
        error = await raised(url, get, http_client=http, retry=RetryPolicy(sleep=sleeps))
    assert type(error).__name__ == bug, error
    if bug == "RuntimeError":
        assert str(error) == "the caller's own bug"
    else:  # raised where an event loop's code was running, yet still the caller's own
        assert innermost_module(error).partition(".")[0] in {"sniffio", "trio"}
    assert sleeps.delays == []  # not retried
    assert len(observed.requests) == (1 if hook == "response" else 0)
