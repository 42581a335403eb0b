"""No answer can break the send path: a raw loopback server answers every bad form there is.

Every call and every poll must end in a `MomentoError` within its timeout, with nothing
chained to it and the token nowhere in it.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Awaitable, Callable

import anyio
import h11
import httpx
import pytest
from anyio.abc import SocketStream
from conftest import UVLOOP, no_wait, peak_memory_mib, until
from raw_http import Behaviour, Observed, Raw, answer, head, raw_server

from momento_http import (
    MalformedResponseError,
    MomentoClient,
    MomentoConnectionError,
    MomentoError,
    MomentoTimeoutError,
    MomentoTransport,
    RetryPolicy,
    ServerError,
    TopicEvent,
)

TOKEN = "hostile-test-token-0123456789abcdef"
TIMEOUT = 0.3
HANG = 10  # seconds: a bound on a hang, not on speed (each try's own limit is TIMEOUT)

Call = Callable[[MomentoClient], Awaitable[object]]
CALLS: dict[str, Call] = {
    "get": lambda c: c.get("cache", "key"),
    "set": lambda c: c.set("cache", "key", b"value", ttl=60),
    "delete": lambda c: c.delete("cache", "key"),
    "publish": lambda c: c.publish("cache", "topic", "message"),
}


@pytest.fixture(scope="module", params=["asyncio", "trio", UVLOOP])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """This module runs on uvloop too: MomentoTransport's protocols meet its transports."""
    return request.param


async def first_event(client: MomentoClient) -> TopicEvent:
    async with client.subscribe("cache", "topic", sequence_number=1) as subscription:
        return await anext(aiter(subscription))


CALLS_AND_POLLS: dict[str, Call] = {**CALLS, "poll": first_event}


async def polls_again_and_again(client: MomentoClient, observed: Observed, polls: int) -> None:
    """Subscribe until the server has seen `polls` polls: no event, and no error, before."""

    async def subscribe() -> None:
        event = await first_event(client)
        pytest.fail(f"a subscription yielded {event!r}")

    async with anyio.create_task_group() as group:
        group.start_soon(subscribe)
        await until(lambda: len(observed.requests) >= polls, f"{polls} polls")
        group.cancel_scope.cancel()


def chunked(size: int) -> bytes:
    return f"{size:x}\r\n".encode() + b"x" * size + b"\r\n"


@functools.cache
def gzip_bomb() -> bytes:
    """~50 KB that would inflate to 50 MB: built for this module's tests, not at import."""
    return gzip.compress(b"\0" * 50_000_000)


@pytest.fixture(scope="module", autouse=True)
def gzip_bomb_built() -> None:
    """Built before this module's first test, not within a try's deadline by its server."""
    gzip_bomb()


def serving_gzip_bomb(status: str) -> Behaviour:
    """Answer with the status and a gzip bomb as the body."""

    async def behave(index: int, connection: h11.Connection, stream: SocketStream) -> None:
        bomb = gzip_bomb()
        reply = head(status, "content-encoding: gzip", f"content-length: {len(bomb)}")
        await Raw.writing(reply, bomb)(index, connection, stream)

    return behave


# What each bad answer must end in: the error, and words of its message. Where two limits
# race (a size cap against the try's deadline, on a loaded machine), either may end it.
Outcome = tuple[type[MomentoError], str]
BAD_ANSWERS: dict[str, tuple[Behaviour, type[MomentoError], str]] = {
    "head dripping a byte at a time": (
        Raw.repeating(b"HTTP/1.1 200 OK\r\nx-slow: ", b"y", 0.1),
        MomentoTimeoutError,
        "no answer within",
    ),
    "100 Continue forever": (
        Raw.repeating(b"", head("100 Continue"), 0.05),
        MomentoTimeoutError,
        "no answer within",
    ),
    "headers that never end": (
        Raw.repeating(b"HTTP/1.1 200 OK\r\n", b"x-more: " + b"y" * 1000 + b"\r\n", 0.001),
        MomentoConnectionError,
        "head over 64 KiB",
    ),
    "body dripping a byte at a time": (
        Raw.repeating(head("200 OK", "content-length: 1000"), b"x", 0.1),
        MomentoTimeoutError,
        "did not complete within",
    ),
    "an endless body": (
        Raw.repeating(head("200 OK", "transfer-encoding: chunked"), chunked(65_536), 0),
        MalformedResponseError,
        "over",
    ),
    "a body declared a terabyte long": (
        Raw.writing(head("200 OK", "content-length: 1000000000000"), then_close=False),
        MalformedResponseError,
        "over",
    ),
    "a gzip bomb nobody asked for": (
        serving_gzip_bomb("200 OK"),
        MalformedResponseError,
        "compressed (gzip) although none was asked",
    ),
    "a close before answering": (
        Raw.writing(),
        MomentoConnectionError,
        "the server closed the connection before answering",
    ),
    "a close mid-body": (
        Raw.writing(head("200 OK", "content-length: 100"), b"0123456789"),
        MomentoConnectionError,
        "the server closed the connection before the answer was complete",
    ),
    "garbage": (
        Raw.writing(b"this is not HTTP at all\r\n\r\n"),
        MomentoConnectionError,
        "not valid HTTP/1.1",
    ),
    "garbage held open": (
        Raw.writing(b"SSH-2.0-OpenSSH_9.6\r\n", then_close=False),
        MomentoConnectionError,
        "not valid HTTP/1.1",
    ),
    "a malformed chunk": (
        Raw.writing(head("200 OK", "transfer-encoding: chunked"), b"zz\r\nxx\r\n"),
        MomentoConnectionError,
        "malformed chunk",
    ),
    "two content-lengths that disagree": (
        Raw.writing(head("200 OK", "content-length: 5", "content-length: 6"), b"value!"),
        MomentoConnectionError,
        "malformed content-length",
    ),
    "a header with a control character": (
        Raw.writing(b"HTTP/1.1 200 OK\r\nx-bad: a\x01b\r\ncontent-length: 0\r\n\r\n"),
        MomentoConnectionError,
        "not valid HTTP/1.1",
    ),
    "trailer lines that never end": (
        Raw.repeating(
            head("200 OK", "transfer-encoding: chunked") + b"1\r\nx\r\n0\r\n",
            b"x-trailer: " + b"y" * 500 + b"\r\n",
            0,
            limit=10_000,
        ),
        MomentoConnectionError,
        "trailers over 64 KiB",
    ),
    "one-byte chunks, each faster than a deadline tick": (
        Raw.repeating(head("200 OK", "transfer-encoding: chunked"), b"1\r\nx\r\n", 0.01, limit=600),
        MomentoTimeoutError,
        "did not complete within",
    ),
    "a kilobyte of chunk extensions per body byte": (
        Raw.repeating(
            head("200 OK", "transfer-encoding: chunked"),
            b"1;" + b"e" * 1000 + b"\r\nx\r\n",
            0,
            limit=10_000,
        ),
        MomentoConnectionError,
        "more chunk framing than data",
    ),
    "framed both by length and by chunks": (
        Raw.writing(
            head("200 OK", "transfer-encoding: chunked", "content-length: 50"),
            b"0\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nPOISON",
        ),
        MomentoConnectionError,
        "both a content-length and a transfer-encoding",
    ),
    "101 Switching Protocols": (
        Raw.writing(head("101 Switching Protocols", "upgrade: websocket")),
        MomentoConnectionError,
        "switched protocols",
    ),
}


RACES: dict[str, set[Outcome]] = {
    # 16 MiB of chunks for a poll (its cap) against a 0.3 s deadline: the cap, unless the
    # machine is too busy to read that much in time (four test workers on two cores).
    "an endless body": {(MomentoTimeoutError, "did not complete within")},
}


def assert_clean(error: BaseException) -> None:
    """A MomentoError, with nothing chained to it and the token nowhere in it."""
    assert isinstance(error, MomentoError)
    assert error.__cause__ is None
    assert error.__context__ is None
    for shown in (str(error), repr(error), str(error.args), str(vars(error))):
        assert TOKEN not in shown


async def fails_in_time(
    url: str,
    call: Call,
    *,
    token_in_query: bool = False,
    http_client: httpx.AsyncClient | None = None,
) -> MomentoError:
    """The error a call raises; a call that never ends fails the test, whatever its deadline."""
    with anyio.fail_after(HANG):
        return await momento_error(
            url, call, token_in_query=token_in_query, http_client=http_client
        )


async def momento_error(
    url: str,
    call: Call,
    *,
    token_in_query: bool = False,
    http_client: httpx.AsyncClient | None = None,
) -> MomentoError:
    """The error a call raises, checked clean; in whatever time a loaded machine takes."""
    async with MomentoClient(
        TOKEN,
        base_url=url,
        timeout=TIMEOUT,
        poll_timeout=TIMEOUT,
        retry=None,
        token_in_query=token_in_query,
        http_client=http_client,
    ) as client:
        with pytest.raises(MomentoError) as caught:
            await call(client)
    assert_clean(caught.value)
    return caught.value


# A call and a poll read answers alike but for their deadlines (a poll's answer may take
# `poll_timeout` to begin): every bad answer meets both. The other calls share the get's path
# (the next test holds that), so each meets a sample.
@pytest.mark.parametrize("operation", ["get", "poll"])
@pytest.mark.parametrize("answer", BAD_ANSWERS)
async def test_every_bad_answer_is_a_momento_error_in_time(operation: str, answer: str) -> None:
    behaviour, expected, words = BAD_ANSWERS[answer]
    outcomes = {(expected, words), *RACES.get(answer, ())}
    async with raw_server(behaviour) as (url, _):
        error = await fails_in_time(url, CALLS_AND_POLLS[operation])
    assert any(type(error) is kind and text in error.message for kind, text in outcomes), error


SAMPLE = ["body dripping a byte at a time", "garbage", "framed both by length and by chunks"]


@pytest.mark.parametrize("operation", ["set", "delete", "publish"])
@pytest.mark.parametrize("answer", SAMPLE)
async def test_every_call_meets_a_bad_answer_as_a_get_does(operation: str, answer: str) -> None:
    behaviour, expected, words = BAD_ANSWERS[answer]
    outcomes = {(expected, words), *RACES.get(answer, ())}
    async with raw_server(behaviour) as (url, _):
        error = await fails_in_time(url, CALLS_AND_POLLS[operation])
    assert any(type(error) is kind and text in error.message for kind, text in outcomes), error


SLOW_ANSWERS = [
    "head dripping a byte at a time",
    "100 Continue forever",
    "body dripping a byte at a time",
]


# httpx's own transport does not say whether an answer has begun: a poll's head cut off by
# the time limit looks quiet there (the next test); every other combination must fail in time.
DEADLINE_CASES = [
    (transport, answer, operation)
    for transport in ("MomentoTransport", "httpx's own")
    for answer in SLOW_ANSWERS
    for operation in ("get", "poll")
    if not (transport == "httpx's own" and operation == "poll" and answer in SLOW_ANSWERS[:2])
]


@pytest.mark.parametrize(("transport", "answer", "operation"), DEADLINE_CASES)
async def test_the_deadline_holds_on_a_callers_client_whatever_its_transport(
    transport: str, answer: str, operation: str
) -> None:
    behaviour, expected, words = BAD_ANSWERS[answer]
    outcomes = {(expected, words), *RACES.get(answer, ())}
    carrier = MomentoTransport() if transport == "MomentoTransport" else None
    async with raw_server(behaviour) as (url, _), httpx.AsyncClient(transport=carrier) as http:
        error = await fails_in_time(url, CALLS_AND_POLLS[operation], http_client=http)
    assert any(type(error) is kind and text in error.message for kind, text in outcomes), error


@pytest.mark.parametrize("answer", SLOW_ANSWERS[:2])
async def test_on_another_transport_a_poll_whose_head_never_completes_polls_again(
    answer: str,
) -> None:
    behaviour = BAD_ANSWERS[answer][0]
    async with (
        raw_server(behaviour) as (url, observed),
        httpx.AsyncClient() as http,
        MomentoClient(
            TOKEN, base_url=url, timeout=0.1, poll_timeout=0.1, retry=None, http_client=http
        ) as client,
    ):
        await polls_again_and_again(client, observed, 3)


POLL_ANSWERS = {
    "JSON nested 200,000 deep": b'{"items": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
    "a 5,000-digit number": b'{"items": [{"item": {"topic_sequence_number": '
    + b"9" * 5000
    + b', "value": {"text": "x"}}}]}',
    "a number past 64 bits": b'{"items": [{"item": {"topic_sequence_number": '
    + str(2**64).encode()
    + b', "value": {"text": "x"}}}]}',
    "invalid UTF-8": b'{"items": [{"item": {"topic_sequence_number": 1, '
    b'"value": {"text": "\xff\xfe"}}}]}',
    "not JSON": b"<html>surprise</html>",
}


@pytest.mark.parametrize("body", POLL_ANSWERS)
async def test_a_malformed_poll_answer_is_a_malformed_response_error(body: str) -> None:
    content = POLL_ANSWERS[body]
    reply = head("200 OK", "content-type: application/json", f"content-length: {len(content)}")
    async with raw_server(Raw.writing(reply, content)) as (url, observed):
        error = await fails_in_time(url, first_event)
    assert type(error) is MalformedResponseError
    assert "malformed answer" in error.message
    assert len(observed.requests) == 1  # retry=None: one try


async def test_a_malformed_poll_answer_is_retried_before_it_is_raised() -> None:
    content = POLL_ANSWERS["JSON nested 200,000 deep"]
    reply = head("200 OK", f"content-length: {len(content)}")
    async with (
        raw_server(Raw.writing(reply, content)) as (url, observed),
        MomentoClient(
            TOKEN,
            base_url=url,
            timeout=TIMEOUT,
            retry=RetryPolicy(max_poll_failures=10, sleep=no_wait),
        ) as client,
    ):
        with pytest.raises(MalformedResponseError) as caught:
            await first_event(client)
    assert_clean(caught.value)
    assert len(observed.requests) == 10  # max_poll_failures


async def test_a_silent_poll_is_no_error_and_polls_again() -> None:
    async with (
        raw_server(Raw.writing(then_close=False)) as (url, observed),
        MomentoClient(TOKEN, base_url=url, timeout=0.1, poll_timeout=0.1, retry=None) as client,
    ):
        await polls_again_and_again(client, observed, 3)


@pytest.mark.parametrize("token_in_query", [False, True])
@pytest.mark.parametrize("operation", CALLS_AND_POLLS)
async def test_a_server_echoing_the_token_has_it_scrubbed(
    operation: str, token_in_query: bool
) -> None:
    body = f"bad token {TOKEN} in /cache?token={TOKEN}".encode()
    reply = head("500 Internal Server Error", f"content-length: {len(body)}", f"x-echo: {TOKEN}")
    async with raw_server(Raw.writing(reply, body)) as (url, _):
        error = await fails_in_time(url, CALLS_AND_POLLS[operation], token_in_query=token_in_query)
    assert type(error) is ServerError
    assert error.message == "bad token [REDACTED] in /cache?token=[REDACTED]"


async def test_a_compressed_error_page_is_not_inflated() -> None:
    async with raw_server(serving_gzip_bomb("503 Service Unavailable")) as (url, _):
        error = await fails_in_time(url, CALLS["get"])
    assert type(error) is ServerError
    assert error.message == "Service Unavailable"


async def test_a_huge_error_page_is_read_only_in_part() -> None:
    reply = head("500 Internal Server Error", "transfer-encoding: chunked")
    async with raw_server(Raw.repeating(reply, chunked(65_536), 0)) as (url, _):
        error = await fails_in_time(url, CALLS["get"])
    assert type(error) is ServerError
    assert error.message == "x" * 500 + "…"


async def test_a_poll_answer_of_an_unknown_item_kind_only_is_no_event() -> None:
    content = json.dumps({"items": [{"novelty": {}}]}).encode()

    async def unknown_kinds(_: int, connection: h11.Connection, stream: SocketStream) -> None:
        await answer(connection, stream, body=content)

    async with (
        raw_server(unknown_kinds) as (url, observed),
        MomentoClient(TOKEN, base_url=url, retry=None) as client,
    ):
        await polls_again_and_again(client, observed, 2)  # nothing to yield


# The bomb inflates to 400 MiB, and the endless body runs at loopback speed: reading
# either whole breaks 250 MiB.
MEMORY_PROBE = """
import sys, zlib
import anyio
import httpx
sys.path.insert(0, "tests")
import test_hostile_server as hostile
from raw_http import Raw, raw_server

deflate = zlib.compressobj(1, zlib.DEFLATED, 31)
bomb = b"".join([deflate.compress(bytes(1 << 20)) for _ in range(400)]) + deflate.flush()
big_bomb = Raw.writing(
    hostile.head("200 OK", "content-encoding: gzip", f"content-length: {len(bomb)}"), bomb
)

async def main():
    for behaviour in (hostile.BAD_ANSWERS["an endless body"][0], big_bomb):
        for _ in range(3):
            for operation in ("get", "poll"):
                async with raw_server(behaviour) as (url, _):
                    await hostile.momento_error(url, hostile.CALLS_AND_POLLS[operation])

anyio.run(main, backend=sys.argv[1])
"""


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_endless_bodies_and_gzip_bombs_keep_memory_bounded(backend: str) -> None:
    assert peak_memory_mib(MEMORY_PROBE, backend) < 250
