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
from raw_http import Behaviour, Raw, raw_server

from momento_http import (
    LimitExceededError,
    MalformedResponseError,
    MomentoClient,
    MomentoError,
    MomentoTransport,
    RetryPolicy,
    ServerError,
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


# --- an answer over the cap is not fetched again ---------------------------------------------


def head(status: str, *headers: str) -> bytes:
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers]) + "\r\n\r\n").encode()


OVER_THE_CAP: dict[str, Behaviour] = {
    "declared": replying(200, body=b"x" * 1000),
    "read": Raw.writing(
        head("200 OK", "transfer-encoding: chunked"), b"3e8\r\n" + b"x" * 1000 + b"\r\n0\r\n\r\n"
    ),
}


@pytest.mark.parametrize("length", OVER_THE_CAP)
async def test_an_answer_over_max_response_bytes_is_not_retried(length: str) -> None:
    sleeps = Sleeps()
    async with raw_server(OVER_THE_CAP[length]) as (url, observed):
        error = await raised(
            url, get, max_response_bytes=100, retry=RetryPolicy(max_attempts=3, sleep=sleeps)
        )
    assert type(error) is MalformedResponseError, error
    assert error.too_large
    assert "over 100 bytes" in error.message
    assert sleeps.delays == []
    assert len(observed.requests) == 1


async def test_a_poll_answer_over_its_cap_ends_the_subscription_at_once() -> None:
    reply = head("200 OK", "content-length: 1000000000000")
    sleeps = Sleeps()
    async with raw_server(Raw.writing(reply, then_close=False)) as (url, observed):
        error = await raised(url, first_event, retry=RetryPolicy(sleep=sleeps))
    assert type(error) is MalformedResponseError, error
    assert error.too_large
    assert sleeps.delays == []
    assert len(observed.requests) == 1


async def test_other_malformed_answers_are_still_retried() -> None:
    sleeps = Sleeps()
    gzipped = replying(200, ("content-encoding", "gzip"), body=b"\x1f\x8b")
    async with raw_server(gzipped) as (url, observed):
        error = await raised(url, get, retry=RetryPolicy(max_attempts=3, sleep=sleeps))
    assert type(error) is MalformedResponseError, error
    assert not error.too_large
    assert len(sleeps.delays) == 2
    assert len(observed.requests) == 3


# --- a Retry-After never outlasts the call's budget: max_attempts * timeout -----------------


@pytest.mark.parametrize(("status", "error_type"), [(429, LimitExceededError), (503, ServerError)])
async def test_a_retry_after_past_the_calls_budget_fails_at_once(
    status: int, error_type: type[MomentoError]
) -> None:
    sleeps = Sleeps()
    async with raw_server(replying(status, ("retry-after", "30"))) as (url, observed):
        error = await raised(url, get, timeout=2, retry=RetryPolicy(sleep=sleeps))
    assert type(error) is error_type, error
    assert isinstance(error, LimitExceededError | ServerError)
    assert error.retry_after == 30
    assert "the server asks to wait 30 s before trying again" in error.message
    assert sleeps.delays == []
    assert len(observed.requests) == 1


@pytest.mark.parametrize(
    ("retry_after", "delays"),
    [
        ("1", [1.0, 1.0]),  # 3 tries of 2 s: a budget of 6 s
        ("2.5", [2.5, 2.5]),
        ("3.5", [3.5]),  # the second wait would end past 6 s
        ("6.5", []),
    ],
)
async def test_the_waits_a_server_asks_for_count_against_the_budget(
    retry_after: str, delays: list[float]
) -> None:
    sleeps = Sleeps()
    async with raw_server(replying(503, ("retry-after", retry_after))) as (url, observed):
        error = await raised(url, get, timeout=2, retry=RetryPolicy(max_attempts=3, sleep=sleeps))
    assert isinstance(error, ServerError)
    assert error.retry_after == float(retry_after)
    assert sleeps.delays == delays
    assert len(observed.requests) == len(delays) + 1


async def test_a_polls_retry_after_past_its_budget_ends_the_subscription() -> None:
    # A poll's budget: max_poll_failures * (poll_timeout + 2 * timeout) = 3 * 3 s.
    sleeps = Sleeps()
    async with raw_server(replying(503, ("retry-after", "10"))) as (url, observed):
        error = await raised(
            url,
            first_event,
            timeout=1,
            poll_timeout=1,
            retry=RetryPolicy(max_poll_failures=3, sleep=sleeps),
        )
    assert isinstance(error, ServerError), error
    assert error.retry_after == 10
    assert sleeps.delays == []
    assert len(observed.requests) == 1
