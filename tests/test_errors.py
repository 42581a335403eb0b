"""Every status the server can answer, mapped to its exception; each call meets it over loopback."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from types import ModuleType

import anyio.abc
import h11
import httpx
import pytest
from conftest import CACHE, free_port
from raw_http import raw_server

from momento_http import (
    AuthenticationError,
    CacheNotFoundError,
    InvalidArgumentError,
    LimitExceededError,
    MomentoClient,
    MomentoConnectionError,
    MomentoError,
    MomentoTimeoutError,
    MomentoTransport,
    PermissionDeniedError,
    ServerError,
)
from momento_http._send._answers import Answer, error_for_status
from momento_http.local import Fault, LocalServer

Operation = Callable[[MomentoClient], Awaitable[object]]

OPERATIONS: dict[str, tuple[str, Operation]] = {
    "get": ("GET", lambda c: c.get(CACHE, "k")),
    "set": ("PUT", lambda c: c.set(CACHE, "k", b"v", ttl=5)),
    "delete": ("DELETE", lambda c: c.delete(CACHE, "k")),
    "publish": ("POST", lambda c: c.publish(CACHE, "topic", "hi")),
}

STATUSES: list[tuple[int, type[MomentoError]]] = [
    (400, InvalidArgumentError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (413, InvalidArgumentError),
    (429, LimitExceededError),
    (418, ServerError),
    (500, ServerError),
    (502, ServerError),
    (503, ServerError),
    (504, ServerError),
]


URL = "http://127.0.0.1:9/cache/test-cache?key=k"


def mapped(
    status: int, body: str = "", content_type: str = "text/plain", **headers: str
) -> MomentoError:
    """The exception the one mapping gives for an answer: no request needed to judge one."""
    answer = Answer(
        status,
        httpx.codes.get_reason_phrase(status),
        httpx.Headers({"content-type": content_type, **headers}),
        body.encode(),
    )
    return error_for_status(answer, method="GET", url=URL, scrub=str)


@pytest.mark.parametrize(("status", "error_type"), STATUSES)
def test_status_maps_to_its_exception(status: int, error_type: type[MomentoError]) -> None:
    error = mapped(status, f"injected {status}")
    assert type(error) is error_type
    assert error.status_code == status
    assert error.message == f"injected {status}"
    assert (error.method, error.url) == ("GET", URL)
    assert f"injected {status}" in str(error)


# Each operation once over loopback: the mapping is one, and every call reaches it.
END_TO_END = [("get", 400), ("set", 403), ("delete", 401), ("publish", 503)]


@pytest.mark.parametrize(("operation", "status"), END_TO_END)
async def test_a_status_reaches_each_operations_caller_as_its_exception(
    faulty: LocalServer, client: MomentoClient, operation: str, status: int
) -> None:
    method, call = OPERATIONS[operation]
    faulty.inject_fault(Fault(status, message=f"injected {status}", method=method))
    with pytest.raises(dict(STATUSES)[status]) as caught:
        await call(client)
    error = caught.value
    assert type(error) is dict(STATUSES)[status]
    assert error.status_code == status
    assert error.message == f"injected {status}"
    assert error.method == method
    assert error.url is not None
    assert error.url.startswith(f"{faulty.base_url}/")
    await call(client)  # the fault is spent: the next call succeeds


@pytest.mark.parametrize("body", ["Cache Not Found", "CACHE NOT FOUND: test-cache"])
def test_404_naming_the_cache_in_any_case_maps_to_cache_not_found(body: str) -> None:
    error = mapped(404, body)
    assert type(error) is CacheNotFoundError
    assert error.status_code == 404


async def test_a_404_naming_the_cache_reaches_the_caller(
    faulty: LocalServer, client: MomentoClient
) -> None:
    faulty.inject_fault(Fault(404, message="Cache Not Found", method="PUT"))
    with pytest.raises(CacheNotFoundError):
        await client.set(CACHE, "k", b"v")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("Key Not Found", "text/plain"),
        ("key not found", "text/plain"),
        ('{"title": "Key Not Found", "status": 404}', "application/problem+json"),
        ('{"message": "key not found: k"}', "application/json"),
    ],
)
async def test_a_404_saying_the_key_is_not_found_is_a_miss(
    faulty: LocalServer, client: MomentoClient, body: str, content_type: str
) -> None:
    await client.set(CACHE, "present", b"v")
    faulty.inject_fault(Fault(404, message=body, content_type=content_type, method="GET"))
    assert await client.get(CACHE, "present") is None
    faulty.inject_fault(Fault(404, message=body, content_type=content_type, method="DELETE"))
    await client.delete(CACHE, "present")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("Not Found", "text/plain"),
        ("", "text/plain"),
        ("<html><head><title>404 Not Found</title></head><body>nginx</body></html>", "text/html"),
        ('{"title": "Not Found"}', "application/json"),
    ],
)
def test_any_other_404_maps_to_an_error_asking_about_the_url(body: str, content_type: str) -> None:
    error = mapped(404, body, content_type)
    assert type(error) is ServerError
    assert error.status_code == 404
    assert "is the base URL right" in error.message


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_any_other_404_is_an_error_naming_the_url_not_a_miss(
    faulty: LocalServer, client: MomentoClient, operation: str
) -> None:
    method, call = OPERATIONS[operation]
    faulty.inject_fault(Fault(404, message="Not Found", method=method))
    with pytest.raises(ServerError, match="is the base URL right") as caught:
        await call(client)
    assert type(caught.value) is ServerError
    assert caught.value.status_code == 404
    assert f"{faulty.base_url}/" in str(caught.value)


@pytest.mark.parametrize(
    ("header", "expected"), [("3", 3.0), ("0.5", 0.5), (None, None), ("0", 0.0)]
)
def test_429_carries_retry_after(header: str | None, expected: float | None) -> None:
    error = mapped(429, "slow down", **({"retry-after": header} if header is not None else {}))
    assert isinstance(error, LimitExceededError)
    assert error.retry_after == expected


async def test_429s_retry_after_reaches_the_caller(
    faulty: LocalServer, client: MomentoClient
) -> None:
    faulty.inject_fault(Fault(429, message="slow down", retry_after=3))
    with pytest.raises(LimitExceededError) as caught:
        await client.get(CACHE, "k")
    assert caught.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("page", "summary"),
    [
        (
            "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 10_000,
            "502 Bad Gateway",
        ),
        (
            "<!DOCTYPE html><html><body><h1>Oops &amp; sorry</h1>" + "<p>y</p>" * 5000,
            "Oops & sorry",
        ),
        ("<html><body>" + "z " * 10_000 + "</body></html>", "z z z"),
    ],
)
def test_an_html_error_page_is_cut_to_a_short_summary(page: str, summary: str) -> None:
    error = mapped(502, page, "text/html")
    assert error.message.startswith(summary)
    assert len(error.message) <= 201
    assert "<" not in error.message


async def test_a_long_text_error_is_cut_short(faulty: LocalServer, client: MomentoClient) -> None:
    # Over loopback: the body is read only in part (ERROR_BODY_BYTES), then summarised.
    faulty.inject_fault(Fault(500, message="w" * 10_000, method="GET"))
    with pytest.raises(ServerError) as caught:
        await client.get(CACHE, "k")
    assert caught.value.message == "w" * 500 + "…"


async def test_errors_never_show_the_token(faulty: LocalServer) -> None:
    token = faulty.api_key
    async with MomentoClient(
        token, base_url=faulty.base_url, token_in_query=True, retry=None
    ) as client:
        faulty.inject_fault(Fault(500, message="boom"))
        with pytest.raises(ServerError) as caught:
            await client.get(CACHE, "k")
    error = caught.value
    assert error.url is not None
    assert "token=%5BREDACTED%5D" in error.url or "token=[REDACTED]" in error.url
    for shown in (str(error), repr(error), error.url, str(error.args)):
        assert token not in shown


async def test_refused_connection_raises_connection_error() -> None:
    token = "secret-token-value"
    base_url = f"http://127.0.0.1:{free_port()}"
    async with MomentoClient(token, base_url=base_url, token_in_query=True, retry=None) as client:
        with pytest.raises(MomentoConnectionError) as caught:
            await client.get(CACHE, "k")
    assert caught.value.status_code is None
    assert caught.value.method == "GET"
    assert token not in str(caught.value)
    assert token not in repr(caught.value)


async def test_a_silent_server_raises_timeout() -> None:
    # A listening socket that never answers: the request is sent and no reply comes.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        async with MomentoClient(
            "t", base_url=f"http://127.0.0.1:{port}", timeout=0.2, retry=None
        ) as client:
            with pytest.raises(MomentoTimeoutError) as caught:
                await client.get(CACHE, "k")
    assert caught.value.method == "GET"
    assert caught.value.status_code is None


def test_every_error_is_a_momento_error() -> None:
    for error_type in (
        InvalidArgumentError,
        AuthenticationError,
        PermissionDeniedError,
        CacheNotFoundError,
        LimitExceededError,
        ServerError,
        MomentoTimeoutError,
        MomentoConnectionError,
    ):
        assert issubclass(error_type, MomentoError)
    assert issubclass(InvalidArgumentError, ValueError)


@pytest.mark.parametrize("status", [204, 206, 301, 302, 307])
async def test_a_get_answered_with_an_odd_status_is_a_server_error(
    faulty: LocalServer, client: MomentoClient, status: int
) -> None:
    faulty.inject_fault(Fault(status, message="odd", method="GET"))
    with pytest.raises(ServerError) as caught:
        await client.get(CACHE, "k")
    assert caught.value.status_code == status


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirects_are_not_followed(
    faulty: LocalServer, client: MomentoClient, status: int
) -> None:
    faulty.inject_fault(Fault(status, message="moved", method="PUT"))
    with pytest.raises(ServerError) as caught:
        await client.set(CACHE, "k", b"v")
    assert caught.value.status_code == status


@pytest.mark.parametrize("transport", ["its own transport", "MomentoTransport"])
async def test_a_callers_clients_failures_are_momento_errors_of_the_same_meaning(
    family: ModuleType, transport: str
) -> None:
    """httpx's and httpx2's exceptions alike: none escapes, and each means what it says."""

    async def cut_short(_: int, __: h11.Connection, stream: anyio.abc.SocketStream) -> None:
        await stream.send(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort")

    token = "secret-token-value"
    options = {} if transport == "its own transport" else {"transport": MomentoTransport()}
    async with family.AsyncClient(**options) as http:

        def momento(base_url: str) -> MomentoClient:
            return MomentoClient(token, base_url=base_url, timeout=1, retry=None, http_client=http)

        async with momento(f"http://127.0.0.1:{free_port()}") as client:
            with pytest.raises(MomentoConnectionError) as refused:
                await client.get(CACHE, "k")
        async with raw_server(cut_short) as (url, _), momento(url) as client:
            with pytest.raises(MomentoConnectionError) as cut:
                await client.get(CACHE, "k")
    assert refused.value.request_sent is False
    assert "connect" in str(refused.value)
    assert cut.value.request_sent is True
    for caught in (refused, cut):
        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None
        assert token not in str(caught.value)
