"""Request building and validation: unit tests over a recording transport.

Only pure request building is tested here; behaviour is tested against the local server.
Every bad argument must raise before any request is sent, so the transport fails the test
if it is ever reached by one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from momento_http import InvalidArgumentError, MomentoClient
from momento_http._families import HTTPX, HTTPX2
from momento_http._send._requests import RequestFactory
from momento_http._transport import RequestState
from momento_http._validation import encode_key, encode_name

BASE = "http://127.0.0.1:9"


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = 200 if request.method == "GET" else 204
        return httpx.Response(status, content=b"v" if status == 200 else b"")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(recorder: Recorder) -> AsyncIterator[MomentoClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    async with http, MomentoClient("tok", base_url=BASE, http_client=http) as built:
        yield built


@pytest.mark.parametrize(
    ("key", "param", "encoded"),
    [
        ("plain_Key-1.~", "key", "plain_Key-1.~"),
        ("example_key", "key", "example_key"),
        ("with space", "key_base64", "d2l0aCBzcGFjZQ"),
        ("a/b", "key_base64", "YS9i"),
        ("a&b=c", "key_base64", "YSZiPWM"),
        ("what?", "key_base64", "d2hhdD8"),
        ("ü", "key_base64", "w7w"),
        ("🙂", "key_base64", "8J-Zgg"),
        (b"example_key", "key_base64", "ZXhhbXBsZV9rZXk"),
        (b"\x00\xff", "key_base64", "AP8"),
        (b"\xfb\xff", "key_base64", "-_8"),
        (bytearray(b"ab"), "key_base64", "YWI"),
    ],
)
def test_key_encoding(key: str | bytes, param: str, encoded: str) -> None:
    assert encode_key(key) == (param, encoded)


def test_text_key_and_its_bytes_encode_alike() -> None:
    assert encode_key("ключ/1") == encode_key("ключ/1".encode())


async def test_set_builds_the_documented_request(client: MomentoClient, recorder: Recorder) -> None:
    await client.set("my cache/ü", "a b", "välue", ttl=timedelta(minutes=2))
    (request,) = recorder.requests
    assert request.method == "PUT"
    assert request.url.raw_path.split(b"?")[0] == b"/cache/my%20cache%2F%C3%BC"
    assert dict(request.url.params) == {"key_base64": "YSBi", "ttl_seconds": "120"}
    assert request.content == "välue".encode()
    assert request.headers["authorization"] == "tok"


async def test_default_ttl_applies_when_a_call_gives_none(recorder: Recorder) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    async with MomentoClient("t", base_url=BASE, http_client=http, default_ttl=7) as client:
        await client.set("c", "k", b"v")
        await client.set("c", "k", b"v", ttl=9)
    assert [r.url.params["ttl_seconds"] for r in recorder.requests] == ["7", "9"]


async def test_token_in_query_moves_the_token(recorder: Recorder) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    async with MomentoClient("tok", base_url=BASE, http_client=http, token_in_query=True) as c:
        await c.get("c", "k")
    (request,) = recorder.requests
    assert "authorization" not in request.headers
    assert request.url.params["token"] == "tok"


async def test_publish_content_types(client: MomentoClient, recorder: Recorder) -> None:
    await client.publish("c", "t/1", "text")
    await client.publish("c", "t/1", b"\x00bin")
    text, binary = recorder.requests
    assert text.url.path == "/topics/c/t/1"
    assert text.url.raw_path == b"/topics/c/t%2F1"
    assert text.headers["content-type"] == "text/plain"
    assert binary.headers["content-type"] == "application/octet-stream"
    assert binary.content == b"\x00bin"


BAD_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get", {"cache": "", "key": "k"}),
    ("get", {"cache": None, "key": "k"}),
    ("get", {"cache": b"c", "key": "k"}),
    ("get", {"cache": "\ud800", "key": "k"}),
    ("get", {"cache": "c", "key": ""}),
    ("get", {"cache": "c", "key": b""}),
    ("get", {"cache": "c", "key": None}),
    ("get", {"cache": "c", "key": 12}),
    ("get", {"cache": "c", "key": "\udcff"}),
    ("delete", {"cache": "", "key": "k"}),
    ("delete", {"cache": "c", "key": ""}),
    ("set", {"cache": "c", "key": "k", "value": "v"}),  # no ttl and no default_ttl
    ("set", {"cache": "c", "key": "k", "value": "v", "ttl": 0}),
    ("set", {"cache": "c", "key": "k", "value": "v", "ttl": -5}),
    ("set", {"cache": "c", "key": "k", "value": "v", "ttl": True}),
    ("set", {"cache": "c", "key": "k", "value": "v", "ttl": 1.5}),
    ("set", {"cache": "c", "key": "k", "value": "v", "ttl": "10"}),
    ("set", {"cache": "c", "key": "k", "value": "v", "ttl": timedelta(0)}),
    ("set", {"cache": "c", "key": "k", "value": "v", "ttl": timedelta(seconds=1.5)}),
    ("set", {"cache": "c", "key": "k", "value": "v", "ttl": timedelta(seconds=-1)}),
    ("set", {"cache": "c", "key": "k", "value": None, "ttl": 5}),
    ("set", {"cache": "c", "key": "k", "value": 5, "ttl": 5}),
    ("set", {"cache": "c", "key": "k", "value": {"a": 1}, "ttl": 5}),
    ("set", {"cache": "c", "key": "k", "value": "\ud800", "ttl": 5}),
    ("set", {"cache": "", "key": "k", "value": "v", "ttl": 5}),
    ("set", {"cache": "c", "key": "", "value": "v", "ttl": 5}),
    ("publish", {"cache": "", "topic": "t", "value": "v"}),
    ("publish", {"cache": "c", "topic": "", "value": "v"}),
    ("publish", {"cache": "c", "topic": 3, "value": "v"}),
    ("publish", {"cache": "c", "topic": "t", "value": None}),
    ("publish", {"cache": "c", "topic": "t", "value": 1.0}),
    ("get", {"cache": "c", "key": "k", "retry": 3}),
    ("get", {"cache": "c", "key": "k", "retry": "no"}),
    ("delete", {"cache": "c", "key": "k", "timeout": 0}),
    ("set", {"cache": "c", "key": "k", "value": "v", "ttl": 5, "timeout": -1.0}),
    ("publish", {"cache": "c", "topic": "t", "value": "v", "timeout": "1"}),
    ("publish", {"cache": "c", "topic": "t", "value": "v", "retry": object()}),
]


@pytest.mark.parametrize(("method", "arguments"), BAD_CALLS)
async def test_bad_input_raises_before_any_request(
    client: MomentoClient, recorder: Recorder, method: str, arguments: dict[str, Any]
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        await getattr(client, method)(**arguments)
    assert isinstance(caught.value, ValueError)
    assert caught.value.status_code is None
    assert recorder.requests == []


@pytest.mark.parametrize("default_ttl", [0, -1, True, 2.5, timedelta(milliseconds=10), "60"])
def test_bad_default_ttl_is_rejected(default_ttl: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        MomentoClient("t", base_url=BASE, default_ttl=default_ttl)


@pytest.mark.parametrize("timeout", [0, -1, True, "5", None])
def test_bad_timeout_is_rejected(timeout: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="timeout"):
        MomentoClient("t", base_url=BASE, timeout=timeout)


class PollRecorder:
    """Answers each poll with the next canned body, recording the queries."""

    def __init__(self, *bodies: bytes) -> None:
        self.bodies = list(bodies)
        self.queries: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.queries.append(dict(request.url.params))
        return httpx.Response(200, content=self.bodies.pop(0))


async def test_polls_carry_the_cursor() -> None:
    item = (
        b'{"items": [{"item": {"topic_sequence_number": 5, "sequence_page": 9,'
        b' "value": {"text": "x"}}}]}'
    )
    recorder = PollRecorder(item, item.replace(b"5", b"6"))
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    async with (
        MomentoClient("tok", base_url=BASE, http_client=http) as client,
        client.subscribe("c", "t") as subscription,
    ):
        await subscription.__anext__()
        await subscription.__anext__()
    assert recorder.queries == [{}, {"sequence_number": "6", "sequence_page": "9"}]


async def test_a_resumed_subscription_polls_from_its_position() -> None:
    item = b'{"items": [{"item": {"topic_sequence_number": 3, "value": {"text": "x"}}}]}'
    recorder = PollRecorder(item)
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    async with (
        MomentoClient("tok", base_url=BASE, http_client=http, token_in_query=True) as client,
        client.subscribe("c", "t", sequence_number=3) as subscription,
    ):
        await subscription.__anext__()
    assert recorder.queries == [{"sequence_number": "3", "token": "tok"}]


URL_BASES = [
    "http://127.0.0.1:8080",
    "https://api.cache.cell-4-us-west-2-1.prod.a.momentohq.com",
    "http://[::1]:9000",
    "http://localhost:8080/behind/a/prefix/",
]


@pytest.mark.parametrize("base", URL_BASES)
@settings(max_examples=200, deadline=None)
@given(
    cache=st.text(min_size=1, max_size=20).filter(lambda t: t.strip(".")),
    key=st.text(min_size=1, max_size=20) | st.binary(min_size=1, max_size=20),
    token_in_query=st.booleans(),
)
def test_urls_are_the_base_url_with_the_path_and_query_added(
    base: str, cache: str, key: str | bytes, token_in_query: bool
) -> None:
    factory = RequestFactory(httpx.URL(base), token_in_query=token_in_query, family=HTTPX)
    path = f"/cache/{encode_name(cache, 'cache')}"
    name, value = encode_key(key)
    query = {name: value, "ttl_seconds": "60"}
    made = factory.build(
        "GET", path, query, token="t/o k+e=n&", timeouts={}, state=RequestState()
    ).url
    if token_in_query:
        query["token"] = "t/o k+e=n&"
    text = str(httpx.URL(base)).rstrip("/") + path + "?" + urlencode(query, quote_via=quote)
    parsed = httpx.URL(text)
    assert made == parsed
    assert str(made) == str(parsed)
    assert (made.scheme, made.host, made.port) == (parsed.scheme, parsed.host, parsed.port)
    assert made.raw_path == parsed.raw_path
    assert made.raw_path.startswith(httpx.URL(base).raw_path.rstrip(b"/") + b"/cache/")
    assert dict(made.params)[name] == value
    assert dict(made.params).get("token") == ("t/o k+e=n&" if token_in_query else None)


def test_parsed_urls_are_kept_for_the_keys_read_again() -> None:
    factory = RequestFactory(httpx.URL(BASE), token_in_query=False, family=HTTPX)
    hot = f"{BASE}/cache/c?key=hot"
    first = factory._url(hot)
    assert factory._url(hot) is first  # parsed once, shared: httpx URLs cannot change
    assert factory._url(f"{BASE}/cache/c?key=cold") is not first
    for index in range(2000):  # far more URLs than are kept, the hot one read among them
        factory._url(f"{BASE}/cache/c?key=k{index}")
        if index % 500 == 0:
            assert factory._url(hot) is first  # a key read often stays parsed
    for index in range(2000):
        factory._url(f"{BASE}/cache/c?key=n{index}")
    again = factory._url(hot)
    assert again is not first  # the least recently used went first: the cache stays bounded
    assert again == first
    request = factory.build(
        "GET", "/cache/c", {"key": "hot"}, token="t", timeouts={}, state=RequestState()
    )
    assert request.url == again


def test_requests_are_built_in_the_family_of_the_client_that_sends_them() -> None:
    assert HTTPX2 is not None
    for family, module in ((HTTPX, httpx), (HTTPX2, httpx2)):
        factory = RequestFactory(httpx.URL(BASE), token_in_query=False, family=family)
        request = factory.build(
            "PUT", "/cache/c", {"key": "k"}, token="t", body=b"v", timeouts={}, state=RequestState()
        )
        assert type(request) is module.Request
        assert type(request.url) is module.URL
        assert type(request.headers) is module.Headers
        assert isinstance(request.stream, module.AsyncByteStream)
