"""Errors that say what happened, and never the token: raw loopback servers that provoke them.

A bug in the caller's own code is raised as it is, not as a retryable connection error; an
answer of exactly the cap is read, one over it is refused (however its length is declared)
and not fetched again; a `Retry-After` never outlasts the call's budget; and a server
echoing the token, in any header, reason phrase, body, or encoding of it, finds it hidden
in every error, log line and the command line's output.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import anyio
import anyio.lowlevel
import h11
import httpx
import pytest
from anyio.abc import SocketStream
from conftest import EVENT_LOOPS, Sleeps
from raw_http import Behaviour, Raw, answer, head, raw_server

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


@pytest.fixture(scope="module", params=EVENT_LOOPS)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """How a failure surfaces (errors raised in the loop's frames) is each loop's own."""
    return str(request.param)


def replying(
    status: int,
    *headers: tuple[str, str],
    body: bytes = b"",
    reason: bytes = b"",
) -> Behaviour:
    """Answer every request alike, and keep the connection open for the next."""

    async def behave(_: int, connection: h11.Connection, stream: SocketStream) -> None:
        await answer(connection, stream, body, headers, status=status, reason=reason)

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


def carrier(transport: str, **options: Any) -> httpx.AsyncClient:
    """A client on the SDK's transport, or on httpx's own (which reads bodies as h11 does)."""
    return httpx.AsyncClient(
        transport=MomentoTransport() if transport == "MomentoTransport" else None, **options
    )


# --- a RuntimeError is the caller's own bug, unless an event loop raised it ----------------


def recurse() -> None:
    """A bug: endless recursion, through the event loop's clock (so that the limit is reached
    in anyio's, sniffio's or trio's frames, not in this test's)."""
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
    async with (
        raw_server() as (url, observed),
        carrier(transport, event_hooks={hook: [buggy]}) as http,
    ):
        error = await raised(url, get, http_client=http, retry=RetryPolicy(sleep=sleeps))
    assert type(error).__name__ == bug, error
    if bug == "RuntimeError":
        assert str(error) == "the caller's own bug"
    else:  # raised where an event loop's code was running, yet still the caller's own
        assert innermost_module(error).partition(".")[0] in {"anyio", "sniffio", "trio"}
    assert sleeps.delays == []  # not retried
    assert len(observed.requests) == (1 if hook == "response" else 0)


# --- an answer at the cap is read; one over it is refused, not cut, and not fetched again ----


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


CAP = 100
BODY = bytes(range(CAP))


def chunked_once(body: bytes) -> Behaviour:
    """Answer with `body` as one chunk, head and body in one write."""
    framed = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    return Raw.writing(head("200 OK", "transfer-encoding: chunked") + framed)


# httpcore's body generators, left at a yield when a body is not read to its end, are
# finalized by the event loop: on trio, with a ResourceWarning (encode/httpcore#1019).
HTTPCORE_UNCLOSED = pytest.mark.filterwarnings("ignore:Async generator 'http:ResourceWarning")


@pytest.mark.parametrize(
    ("transport", "framing"),
    [
        ("MomentoTransport", "content-length"),
        ("MomentoTransport", "chunked"),
        ("httpx's own", "content-length"),
        pytest.param("httpx's own", "chunked", marks=HTTPCORE_UNCLOSED),
    ],
)
async def test_an_answer_of_exactly_max_response_bytes_is_read_whole_one_more_is_refused(
    transport: str, framing: str
) -> None:
    behaviour = replying(200, body=BODY) if framing == "content-length" else chunked_once(BODY)
    async with raw_server(behaviour) as (url, _), carrier(transport) as http:
        async with MomentoClient(
            TOKEN, base_url=url, max_response_bytes=CAP, http_client=http
        ) as client:
            assert await client.get("cache", "key") == BODY
        error = await raised(url, get, max_response_bytes=CAP - 1, http_client=http)
    assert type(error) is MalformedResponseError, error
    assert error.too_large
    assert f"over {CAP - 1} bytes" in error.message


@pytest.mark.parametrize("transport", ["MomentoTransport", "httpx's own"])
@pytest.mark.parametrize(
    "lengths",
    [("content-length: 2000, 2000",), ("content-length: 2000", "content-length: 2000")],
    ids=["one field", "two fields"],
)
async def test_an_answer_over_the_cap_with_a_repeated_content_length_is_refused_not_cut(
    transport: str, lengths: tuple[str, ...]
) -> None:
    # "2000, 2000" is no number: no check of the declared length refuses it, only the
    # check of what was read, which must refuse it, not cut it to the cap.
    reply = Raw.writing(head("200 OK", *lengths) + b"x" * 2000, then_close=False)
    sleeps = Sleeps()
    async with raw_server(reply) as (url, observed), carrier(transport) as http:
        error = await raised(
            url, get, max_response_bytes=CAP, http_client=http, retry=RetryPolicy(sleep=sleeps)
        )
    assert type(error) is MalformedResponseError, error
    assert error.too_large
    assert f"over {CAP} bytes" in error.message
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


# --- the token, echoed by a server, is shown nowhere ----------------------------------------

ECHOES = {
    "as it is": TOKEN,
    "percent-encoded": quote(TOKEN, safe=""),
    "percent-encoded, hex in lower case": re.sub(
        "%..", lambda hex_: hex_[0].lower(), quote(TOKEN, safe="")
    ),
    "percent-encoded, slashes left": quote(TOKEN),
    "every character percent-encoded": "".join(f"%{byte:02x}" for byte in TOKEN.encode()),
}
# Base64, at each of its three alignments: what a server echoing an Authorization would send.
BASE64_ECHOES = [
    base64.b64encode(prefix + TOKEN.encode()).decode() for prefix in (b"", b"u:", b":")
]


def shown(error: BaseException) -> str:
    """Everything an error shows: its message, repr, args, attributes, and traceback."""
    printed = "".join(traceback.format_exception(error))
    return "\n".join([str(error), repr(error), str(error.args), str(vars(error)), printed])


def assert_hidden(text: str) -> None:
    """No form of the token in the text, nor a telling piece of one."""
    for form in [*ECHOES.values(), *BASE64_ECHOES, TOKEN[:12], TOKEN[-12:]]:
        assert form not in text, text
    for encoded in BASE64_ECHOES:
        assert encoded[4:20] not in text, text


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # httpx's, httpcore's and the SDK's own, all of them
    return caplog


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("transport", ["MomentoTransport", "httpx's own"])
async def test_a_token_echoed_in_content_encoding_is_hidden(
    transport: str, logs: pytest.LogCaptureFixture
) -> None:
    sleeps = Sleeps()
    echo = replying(200, ("content-encoding", TOKEN), ("x-echo", TOKEN), body=b"ok")
    async with (
        raw_server(echo) as (url, _),
        carrier(transport) as http,
    ):
        error = await raised(url, get, http_client=http, retry=RetryPolicy(sleep=sleeps))
    assert type(error) is MalformedResponseError, error
    assert error.message == (
        "the answer has a Content-Encoding of no registered coding, although none was asked"
    )
    assert_hidden(shown(error))
    assert len(sleeps.delays) == 2
    assert "try 1 of 3 failed (MalformedResponseError" in logged(logs)
    assert_hidden(logged(logs))


@pytest.mark.parametrize("transport", ["MomentoTransport", "httpx's own"])
@pytest.mark.parametrize(
    ("status", "said"), [(500, "{}"), (302, "unexpected 302 {} for a GET: {}")]
)
async def test_a_token_echoed_in_the_reason_phrase_is_hidden(
    transport: str, status: int, said: str, logs: pytest.LogCaptureFixture
) -> None:
    sleeps = Sleeps()
    echo = replying(status, ("x-echo", TOKEN), reason=TOKEN.encode())
    async with (
        raw_server(echo) as (url, _),
        carrier(transport) as http,
    ):
        error = await raised(url, get, http_client=http, retry=RetryPolicy(sleep=sleeps))
    assert type(error) is ServerError, error
    assert error.message == said.format("[REDACTED]", "[REDACTED]")
    assert_hidden(shown(error))
    records = logged(logs)
    assert f'"HTTP/1.1 {status} [REDACTED]"' in records  # httpx's INFO line, hidden
    assert_hidden(records)


BODIES = {
    "text": ("text/plain", "x" * 471 + TOKEN),  # 512 long: cut at 500, in the token
    "JSON": ("application/json", '{"message": "' + "x" * 471 + TOKEN + '"}'),
    "HTML": ("text/html", "<title>" + "y" * 180 + TOKEN + "</title>"),  # cut at 200
    **{f"text, {name}": ("text/plain", f"a {echo} b") for name, echo in ECHOES.items()},
    **{
        f"base64 at offset {offset}": ("text/plain", f"Basic {echo}")
        for offset, echo in enumerate(BASE64_ECHOES)
    },
}


@pytest.mark.parametrize("body", BODIES)
async def test_a_token_echoed_in_the_body_is_hidden_before_the_message_is_cut(body: str) -> None:
    content_type, text = BODIES[body]
    echo = replying(500, ("content-type", content_type), body=text.encode())
    async with raw_server(echo) as (url, _):
        error = await raised(url, get, retry=None)
    assert type(error) is ServerError, error
    assert "[REDACTED]" in error.message
    assert_hidden(shown(error))


async def test_the_command_line_shows_no_token_a_server_echoed() -> None:
    echo = replying(200, ("content-encoding", TOKEN), body=b"ok", reason=TOKEN.encode())
    async with raw_server(echo) as (url, observed):
        result = await anyio.run_process(
            [sys.executable, "-m", "momento_http", "--base-url", url, "get", "cache", "key"],
            env={**os.environ, "MOMENTO_API_KEY": TOKEN},
            check=False,
        )
    output = (result.stdout + result.stderr).decode()
    assert result.returncode == 5, output  # a server failure
    assert "Content-Encoding" in output
    assert_hidden(output)
    assert len(observed.requests) == 3  # retried, as any malformed answer
