"""Property tests: any input to a public method gives a correct request or a documented error.

Bad input must raise `InvalidArgumentError` before anything is sent, so the transport only
records (a unit test of request building): whatever it records must decode back to the
arguments given.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_to_bytes

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from momento_http import InvalidArgumentError, MomentoClient, Subscription

BASE = "http://127.0.0.1:9"

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(),
    st.binary(),
    st.timedeltas(),
    st.lists(st.integers(), max_size=2),
)
names = st.one_of(st.text(), anything)
keys = st.one_of(st.text(), st.binary(), anything)
values = st.one_of(st.text(), st.binary(), anything)
ttls = st.one_of(st.integers(), st.timedeltas(), st.none(), anything)

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(204 if request.method != "GET" else 404, content=b"Key Not Found")


def _utf8(text: str) -> bytes | None:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def _valid_name(name: Any) -> bool:
    return isinstance(name, str) and bool(name) and _utf8(name) is not None


def _key_bytes(key: Any) -> bytes | None:
    if isinstance(key, str):
        return _utf8(key) or None
    if isinstance(key, bytes):
        return key or None
    return None


def _ttl_valid(ttl: Any) -> bool:
    if isinstance(ttl, timedelta):
        return ttl > timedelta(0) and ttl % timedelta(seconds=1) == timedelta(0)
    return isinstance(ttl, int) and not isinstance(ttl, bool) and ttl > 0


def _path_segments(request: httpx.Request) -> list[bytes]:
    return [unquote_to_bytes(part) for part in request.url.raw_path.split(b"?")[0].split(b"/")]


def _sent_key(request: httpx.Request) -> bytes:
    params = request.url.params
    if "key" in params:
        return params["key"].encode()
    encoded = params["key_base64"]
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


async def _call(method: str, **arguments: Any) -> Recorder:
    recorder = Recorder()
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    async with http, MomentoClient("token", base_url=BASE, http_client=http) as c:
        try:
            await getattr(c, method)(**arguments)
        except InvalidArgumentError:
            assert recorder.requests == []
    return recorder


@PROPERTY_SETTINGS
@given(method=st.sampled_from(["get", "delete"]), cache=names, key=keys)
async def test_get_and_delete(method: str, cache: Any, key: Any) -> None:
    recorder = await _call(method, cache=cache, key=key)
    valid = _valid_name(cache) and _key_bytes(key) is not None
    assert bool(recorder.requests) == valid
    if valid:
        (request,) = recorder.requests
        assert _path_segments(request) == [b"", b"cache", cache.encode()]
        assert _sent_key(request) == _key_bytes(key)


@PROPERTY_SETTINGS
@given(cache=names, key=keys, value=values, ttl=ttls)
async def test_set(cache: Any, key: Any, value: Any, ttl: Any) -> None:
    recorder = await _call("set", cache=cache, key=key, value=value, ttl=ttl)
    value_bytes = (
        value if isinstance(value, bytes) else _utf8(value) if isinstance(value, str) else None
    )
    valid = (
        _valid_name(cache)
        and _key_bytes(key) is not None
        and value_bytes is not None
        and _ttl_valid(ttl)
    )
    assert bool(recorder.requests) == valid
    if valid:
        (request,) = recorder.requests
        assert _sent_key(request) == _key_bytes(key)
        assert request.content == value_bytes
        seconds = ttl // timedelta(seconds=1) if isinstance(ttl, timedelta) else ttl
        assert request.url.params["ttl_seconds"] == str(seconds)


@PROPERTY_SETTINGS
@given(cache=names, topic=names, value=values)
async def test_publish(cache: Any, topic: Any, value: Any) -> None:
    recorder = await _call("publish", cache=cache, topic=topic, value=value)
    value_bytes = (
        value if isinstance(value, bytes) else _utf8(value) if isinstance(value, str) else None
    )
    valid = _valid_name(cache) and _valid_name(topic) and value_bytes is not None
    assert bool(recorder.requests) == valid
    if valid:
        (request,) = recorder.requests
        assert _path_segments(request) == [b"", b"topics", cache.encode(), topic.encode()]
        assert request.content == value_bytes
        text = isinstance(value, str)
        assert request.headers["content-type"] == (
            "text/plain" if text else "application/octet-stream"
        )


sequence = st.one_of(st.none(), st.integers(), anything)


@PROPERTY_SETTINGS
@given(cache=names, topic=names, number=sequence, page=sequence)
async def test_subscribe(cache: Any, topic: Any, number: Any, page: Any) -> None:
    def valid_position(value: Any) -> bool:
        return value is None or (
            isinstance(value, int) and not isinstance(value, bool) and value >= 0
        )

    valid = (
        _valid_name(cache)
        and _valid_name(topic)
        and valid_position(number)
        and valid_position(page)
    )
    async with MomentoClient("token", base_url=BASE) as client:
        try:
            subscription = client.subscribe(
                cache, topic, sequence_number=number, sequence_page=page
            )
        except InvalidArgumentError:
            assert not valid
            return
        assert valid
        assert isinstance(subscription, Subscription)
        assert subscription.next_sequence_number == (number or 0)
        await subscription.aclose()


@PROPERTY_SETTINGS
@given(api_key=st.one_of(st.text(), anything), base_url=st.one_of(st.text(), st.none()))
def test_construction_raises_only_documented_errors_without_the_key(
    api_key: Any, base_url: Any
) -> None:
    error: InvalidArgumentError | None = None
    try:
        MomentoClient(api_key, base_url=base_url)
    except InvalidArgumentError as caught:
        error = caught
    # Long enough that the key cannot turn up in the message's own words by chance.
    if error is not None and isinstance(api_key, str) and len(api_key) >= 12:
        assert api_key not in str(error)


@pytest.mark.parametrize("ttl", [timedelta(days=10_000), 2**62])
async def test_huge_ttls_are_sent_as_whole_seconds(ttl: Any) -> None:
    recorder = await _call("set", cache="c", key="k", value=b"v", ttl=ttl)
    (request,) = recorder.requests
    assert request.url.params["ttl_seconds"].isdigit()
