"""No request makes the local server fail: any path, query, header, body, token or fault rule.

Each example is one raw HTTP/1.1 request on a connection of its own, so anything may be
sent, malformed HTTP included. The server must answer it in full and close cleanly, with a
status below 500, unless the request armed a fault rule (with a valid token) that asks
for a 5xx or a cut connection. Nothing may be logged as an error meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
import pytest
from conftest import raw_connection
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from momento_http.local import (
    CachePermission,
    CacheRole,
    Fault,
    LocalServer,
    Settings,
)

CACHE = "fuzz-cache"
ODD_CACHE = "odd cache/ü?&"


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[LocalServer]:
    settings = Settings(poll_hold_seconds=0.05, max_item_bytes=4096, request_timeout_seconds=2)
    with LocalServer([CACHE, ODD_CACHE], settings=settings) as server:
        yield server


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


@pytest.fixture
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    loggers = [logging.getLogger(name) for name in ("uvicorn", "momento_http", "asyncio")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


# --- what a request may hold ----------------------------------------------------------------

odd_text = st.text(st.characters(codec="utf-8"), max_size=30)


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually `usual`, sometimes `odd`: requests that get far, with a few oddities."""
    return st.one_of(usual, usual, usual, odd)


odd_segments = st.one_of(
    st.sampled_from(["absent", "", "%2F", "%ff", "..", "%"]),
    odd_text.map(lambda text: quote(text, safe="")),
)
odd_targets = st.one_of(
    st.sampled_from(["/", "/openapi.json", "*", "/cache", "//cache//x", "http://x/cache/y"]),
    st.builds("/cache/{}".format, odd_segments),
    st.builds("/topics/{}/{}".format, odd_segments, odd_segments),
    st.text(st.characters(min_codepoint=33, max_codepoint=255), min_size=1, max_size=40),
)
caches = mostly(st.sampled_from([CACHE, quote(ODD_CACHE, safe="")]), odd_segments)
topics = mostly(st.sampled_from(["t", quote("tö pic/", safe="")]), odd_segments)
names = st.sampled_from(["key", "key_base64", "ttl_seconds", "sequence_number", "sequence_page"])
values = st.one_of(
    st.sampled_from(["k", "0", "1", "-1", "1.5", "99999999999999999999", "ZXhhbXBsZQ", "!!"]),
    st.integers(-10, 10**6).map(str),
    odd_text,
)
odd_queries = st.one_of(
    st.sampled_from(["", "&&", "key", "=", "key=%zz", "key=%ff", "a=b=c", "%", "key=a&key=b"]),
    st.lists(st.tuples(st.one_of(names, odd_text), values), max_size=4).map(
        lambda pairs: "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in pairs)
    ),
)


@st.composite
def targets(draw: st.DrawFn) -> tuple[str, str]:
    """A method and a request target, usually one of the API's routes."""
    if draw(st.integers(0, 9)) == 0:
        method = draw(st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=8))
        return method or "GET", draw(odd_targets)
    if draw(st.booleans()):
        method = draw(mostly(st.sampled_from(["GET", "PUT", "DELETE"]), st.just("POST")))
        key = draw(mostly(st.sampled_from(["k", "k2"]), values))
        usual = f"key={quote(key, safe='')}&ttl_seconds={draw(mostly(st.just('60'), values))}"
        return method, f"/cache/{draw(caches)}?{draw(mostly(st.just(usual), odd_queries))}"
    method = draw(mostly(st.sampled_from(["GET", "POST"]), st.sampled_from(["PUT", "HEAD"])))
    usual = f"sequence_number={draw(mostly(st.just('1'), values))}"
    query = draw(mostly(st.just(usual), odd_queries))
    return method, f"/topics/{draw(caches)}/{draw(topics)}?{query}"


numbers = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 0.001, 0.01, 1, 200, 204, 304, 429, 500, 503, 599]),
)
anything = st.one_of(
    st.none(), st.booleans(), numbers, odd_text, st.lists(st.integers(), max_size=2)
)
good_fields: dict[str, st.SearchStrategy[Any]] = {
    "status": st.sampled_from([200, 204, 304, 418, 429, 503, 599]),
    "message": odd_text,
    "content_type": st.sampled_from(["application/json", "text/plain", "x/y; q=1"]),
    "retry_after": st.sampled_from([0, 0.5, 2, 1e-7, 86_400]),
    "delay": st.sampled_from([0, 0.01]),  # kept short, so that the examples stay quick
    "method": st.sampled_from(["GET", "get", "POST", "DELETE", "PUT"]),
    "cache": st.sampled_from([CACHE, ODD_CACHE, "other", None]),
    "topic": st.sampled_from(["t", "tö pic/", None]),
    "count": st.sampled_from([None, 1, 2]),
    "probability": st.sampled_from([1, 0.5]),
    "key": st.sampled_from(["k", "k2", "ü", None]),
    "request": st.sampled_from(["item", "poll", "publish", None]),
}
# Text JSON can carry but UTF-8 cannot: lone surrogates, escaped as "\ud800".
surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1)
bad_fields: dict[str, st.SearchStrategy[Any]] = {
    "status": st.one_of(st.integers(100, 700), anything),
    "message": st.one_of(
        st.none(), st.booleans(), numbers, st.lists(st.integers(), max_size=2), surrogates
    ),
    "content_type": st.one_of(st.sampled_from(["a\nb", "text/ü", "", " a", "a "]), anything),
    "retry_after": st.one_of(st.sampled_from([-1, 86_401]), anything),
    "disconnect": st.one_of(st.just("sideways"), anything),
    "delay": st.sampled_from([-1, 301, 1e300, math.inf, math.nan, "1", True, None, [1]]),
    "method": st.one_of(st.just("PATCH"), anything),
    "cache": st.one_of(st.just(""), anything, surrogates),
    "topic": st.one_of(st.just(""), anything, surrogates),
    "key": st.one_of(st.just(""), anything, surrogates),
    "request": st.one_of(st.just("items"), anything),
    "count": st.one_of(st.sampled_from([0, -1, 1.5, 2.0, True]), anything),
    "probability": st.one_of(st.sampled_from([0, 1.5, -0.1]), anything),
    "colour": anything,
}


@st.composite
def fault_rules(draw: st.DrawFn) -> str:
    """A rule that is valid but for none, one or two of its fields; or not a rule at all."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.one_of(st.sampled_from(["", "{", "[]", "null", "{}", "[" * 3000]), odd_text))
    rule: dict[str, Any] = draw(
        st.one_of(
            st.builds(dict, status=good_fields["status"]),
            st.builds(dict, disconnect=st.sampled_from(["before_response", "mid_body"])),
            st.builds(dict, delay=st.just(0.01)),
        )
    )
    for name in draw(st.lists(st.sampled_from(sorted(good_fields)), max_size=4, unique=True)):
        rule[name] = draw(good_fields[name])
    for name in draw(st.lists(st.sampled_from(sorted(bad_fields)), max_size=2, unique=True)):
        rule[name] = draw(bad_fields[name])
    return json.dumps(rule)


@dataclass
class Example:
    target: tuple[str, str]  # method and request target
    token: str | None  # which token: see `_token`
    token_place: str
    headers: list[tuple[str, str]]
    rule: str | None
    body: bytes
    length: str


header_names = st.one_of(
    st.sampled_from(["content-type", "x-thing", "expect", "transfer-encoding", "upgrade"]),
    st.sampled_from(["connection", "host", "content-length", "authorization", "bad name", "é"]),
)
header_values = st.one_of(
    st.sampled_from(["text/plain", "application/octet-stream", "100-continue", "chunked"]),
    st.sampled_from(["websocket", "keep-alive", "", "a\x00b", "\x7f"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=30),
)

examples = st.builds(
    Example,
    target=targets(),
    token=mostly(
        st.sampled_from(["valid", "read-only"]),
        st.sampled_from([None, "forged", "not ascii", "garbage", "empty"]),
    ),
    token_place=mostly(st.sampled_from(["header", "query"]), st.just("both")),
    headers=st.lists(st.tuples(header_names, header_values), max_size=2),
    rule=st.one_of(st.none(), fault_rules()),
    body=st.binary(max_size=5000),
    length=mostly(st.just("exact"), st.sampled_from(["none", "short", "nonsense"])),
)


def _token(server: LocalServer, which: str) -> str:
    valid = server.api_key
    return {
        "valid": valid,
        "read-only": server.mint_api_key([CachePermission(CacheRole.READ_ONLY, cache=CACHE)]),
        "forged": valid[:-4] + "AAAA",
        "not ascii": valid.split(".")[0] + ".é.abc",
        "garbage": "a.b.c",
        "empty": "",
    }[which]


def _request(server: LocalServer, example: Example) -> bytes:
    method, target = example.target
    headers = [("host", "127.0.0.1"), ("connection", "close"), *example.headers]
    if example.token is not None:
        token = _token(server, example.token)
        if example.token_place in ("query", "both"):
            target += ("&" if "?" in target else "?") + "token=" + quote(token, safe="")
        if example.token_place in ("header", "both"):
            headers.append(("authorization", token))
    if example.rule is not None:
        headers.append(("x-momento-local-fault", example.rule))
    if example.length == "exact":
        headers.append(("content-length", str(len(example.body))))
    elif example.length == "short" and example.body:
        headers.append(("content-length", str(len(example.body) // 2)))
    elif example.length == "nonsense":
        headers.append(("content-length", "²"))
    lines = [f"{method} {target} HTTP/1.1"] + [f"{n}: {v}" for n, v in headers]
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("utf-8", "surrogateescape") + example.body


def _permitted(example: Example) -> tuple[bool, bool]:
    """Whether the example may be answered 5xx, and whether its connection may be cut."""
    if example.rule is None or example.token not in ("valid", "read-only"):
        return False, False
    if example.token_place == "both":
        return False, False
    try:
        fault = Fault.from_json(example.rule)
    except ValueError:
        return False, False
    return fault.status is not None and fault.status >= 500, fault.disconnect is not None


def _get(*, token: str = "valid", token_place: str = "header", rule: str | None = None) -> Example:
    target = ("GET", f"/cache/{CACHE}?key=k")
    return Example(target, token, token_place, [], rule, b"", "exact")


_STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) ")


async def _exchange(server: LocalServer, request: bytes) -> tuple[bytes, bool]:
    answer = b""
    async with raw_connection(server) as stream:
        with contextlib.suppress(anyio.BrokenResourceError):  # answered before all was sent
            await stream.send(request)
        with anyio.fail_after(10):
            while True:
                try:
                    answer += await stream.receive()
                except anyio.EndOfStream:
                    return answer, True
                except anyio.BrokenResourceError:
                    return answer, False


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(example=examples)
# What the issue found, every time: a token that is not ASCII, and rules of the wrong types.
@example(example=_get(token="not ascii"))
@example(example=_get(token="not ascii", token_place="query"))
@example(example=_get(rule='{"status": 503, "message": 5}'))
@example(example=_get(rule='{"status": 200.5}'))
@example(example=_get(rule='{"status": 304}'))
@example(example=_get(rule='{"delay": Infinity}'))
@example(example=_get(rule='{"status": 503, "message": "\\ud800"}'))
@example(example=_get(rule='{"status": 200, "content_type": " text/plain"}'))
@example(example=_get(rule='{"status": 503, "count": 1.5}'))
async def test_any_request_is_answered_in_full_without_a_server_error(
    fuzzed: LocalServer, error_log: ErrorLog, example: Example
) -> None:
    fuzzed.clear_faults()
    may_fail, may_cut = _permitted(example)
    try:
        answer, clean = await _exchange(fuzzed, _request(fuzzed, example))
    finally:
        fuzzed.clear_faults()
    if may_cut and not (answer and clean):
        return
    assert clean, answer[:300]
    status = _STATUS_LINE.match(answer)
    assert status is not None, answer[:300]
    assert int(status[1]) < 500 or may_fail, answer[:300]
    assert not error_log.records, error_log.records[:3]
