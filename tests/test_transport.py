"""MomentoTransport against a raw HTTP/1.1 server on loopback that misbehaves on demand."""

from __future__ import annotations

import os
import resource
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import anyio
import anyio.abc
import h11
import httpx
import pytest
import trustme
from conftest import UVLOOP
from raw_http import Behaviour, Raw, answer, raw_server

from momento_http import MomentoClient, MomentoTransport
from momento_http._transport._pool import Pool


@pytest.fixture(scope="module", params=["asyncio", "trio", UVLOOP])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """This module runs on uvloop too: MomentoTransport's protocols meet its transports."""
    return request.param


def transport(ssl_context: ssl.SSLContext | None = None, **options: float) -> MomentoTransport:
    return MomentoTransport(ssl_context=ssl_context, **options)  # type: ignore[arg-type]


async def get(
    http: MomentoTransport,
    url: str,
    *,
    limits: httpx.Timeout | None = None,
    family: ModuleType = httpx,
) -> httpx.Response:
    """A GET with a request of the family's, whose answer must be of the same family."""
    timeouts = (limits or httpx.Timeout(5.0)).as_dict()
    request: httpx.Request = family.Request("GET", url, extensions={"timeout": timeouts})
    response: httpx.Response = await http.handle_async_request(request)
    assert family.Response in type(response).__mro__
    await response.aread()
    return response


class Arrivals:
    """A server-side gate: opens once `count` requests have arrived (again after `reset`)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.reset()

    def reset(self) -> None:
        self.arrived = 0
        self.gate = anyio.Event()

    def counting(self, behaviour: Behaviour) -> Behaviour:
        async def behave(
            index: int, connection: h11.Connection, stream: anyio.abc.SocketStream
        ) -> None:
            self.arrived += 1
            if self.arrived >= self.count:
                self.gate.set()
            await behaviour(index, connection, stream)

        return behave

    async def wait(self) -> None:
        with anyio.fail_after(10):  # a bound for a failing run, not a measure
            await self.gate.wait()


async def test_sequential_requests_reuse_one_connection() -> None:
    async with raw_server() as (url, observed), transport() as http:
        for index in range(5):
            response = await get(http, f"{url}/n?i={index}")
            assert (response.status_code, response.content) == (200, b"ok")
    assert observed.connections == 1
    assert observed.requests == [f"/n?i={i}".encode() for i in range(5)]


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    closes, closed = anyio.create_memory_object_stream[None](3)

    async def answer_then_close(
        _: int, connection: h11.Connection, stream: anyio.abc.SocketStream
    ) -> None:
        await answer(connection, stream)
        await stream.aclose()  # no Connection: close header: the client must notice the EOF
        await closes.send(None)

    async with raw_server(answer_then_close) as (url, observed), transport() as http:
        for _ in range(3):
            assert (await get(http, url)).content == b"ok"
            with anyio.fail_after(10):  # a bound for a failing run, not a measure
                await closed.receive()  # closed on loopback: the FIN is in the socket now
    assert observed.connections == 3
    closes.close()
    closed.close()


async def test_connection_close_is_honoured() -> None:
    async def closing(_: int, connection: h11.Connection, stream: anyio.abc.SocketStream) -> None:
        await answer(connection, stream, headers=(("connection", "close"),))

    async with raw_server(closing) as (url, observed), transport() as http:
        for _ in range(3):
            assert (await get(http, url)).content == b"ok"
    assert observed.connections == 3


async def test_idle_connections_expire() -> None:
    async with raw_server() as (url, observed), transport(keepalive_expiry=0.0) as http:
        for _ in range(3):
            await get(http, url)  # idle for the time between two requests: past 0 s
    assert observed.connections == 3


async def test_the_connection_limit_holds_and_queues() -> None:
    async def slow(_: int, connection: h11.Connection, stream: anyio.abc.SocketStream) -> None:
        await both_in.wait()  # answer only once the limit's worth of requests have come
        await answer(connection, stream)

    both_in = Arrivals(2)
    async with (
        raw_server(both_in.counting(slow)) as (url, observed),
        transport(max_connections=2) as http,
        anyio.create_task_group() as group,
    ):
        for _ in range(6):
            group.start_soon(get, http, url)
    assert observed.most_open == 2
    assert len(observed.requests) == 6


async def test_a_bursts_connections_are_all_kept_for_the_next_burst() -> None:
    async def slow(_: int, connection: h11.Connection, stream: anyio.abc.SocketStream) -> None:
        await burst.wait()  # every request of a burst is in flight at once
        await answer(connection, stream)

    burst = Arrivals(40)
    async with raw_server(burst.counting(slow)) as (url, observed), transport() as http:
        for _ in range(2):
            burst.reset()
            async with anyio.create_task_group() as group:
                for _ in range(40):
                    group.start_soon(get, http, url)
    assert observed.most_open == 40
    assert observed.connections == 40  # the second burst opened none


async def test_a_full_pool_times_out_and_then_serves_again() -> None:
    first_in, release = anyio.Event(), anyio.Event()

    async def stall_first(
        index: int, connection: h11.Connection, stream: anyio.abc.SocketStream
    ) -> None:
        if index == 0:
            first_in.set()
            await release.wait()
        await answer(connection, stream)

    async with raw_server(stall_first) as (url, _), transport(max_connections=1) as http:
        async with anyio.create_task_group() as group:
            group.start_soon(get, http, url)
            await first_in.wait()  # the one connection is taken
            with pytest.raises(httpx.PoolTimeout):
                await get(http, url, limits=httpx.Timeout(5.0, pool=0.05))
            release.set()
        assert (await get(http, url)).content == b"ok"


async def test_a_cancelled_request_frees_its_place() -> None:
    arrivals, arrived = anyio.create_memory_object_stream[int](2)

    async def stall(index: int, connection: h11.Connection, stream: anyio.abc.SocketStream) -> None:
        await arrivals.send(index)
        await anyio.sleep_forever()

    async with raw_server(stall) as (url, observed), transport(max_connections=1) as http:
        for _ in range(2):  # the second can reach the server only if the first gave back its place
            async with anyio.create_task_group() as group:
                group.start_soon(get, http, url)
                with anyio.fail_after(10):  # a bound for a failing run, not a measure
                    await arrived.receive()
                group.cancel_scope.cancel()
    assert len(observed.requests) == 2
    arrivals.close()
    arrived.close()


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",  # fails in the body
        b"this is not HTTP\r\n\r\n",
        b"",
    ],
)
async def test_broken_answers_raise_the_requests_familys_errors(
    reply: bytes, family: ModuleType
) -> None:
    async def broken(_: int, connection: h11.Connection, stream: anyio.abc.SocketStream) -> None:
        await stream.send(reply) if reply else None
        await stream.aclose()

    async with raw_server(broken) as (url, _), transport() as http:
        with pytest.raises(family.RemoteProtocolError):
            await get(http, url, family=family)


async def test_timeouts_and_refusals_raise_the_requests_familys_errors(
    family: ModuleType,
) -> None:
    async def stall(index: int, connection: h11.Connection, stream: anyio.abc.SocketStream) -> None:
        await anyio.sleep(10)

    async with raw_server(stall) as (url, _), transport() as http:
        with pytest.raises(family.ReadTimeout):
            await get(http, url, limits=httpx.Timeout(5.0, read=0.05), family=family)
    async with raw_server() as (url, _):
        pass  # closed: nothing listens there now
    async with transport() as http:
        with pytest.raises(family.ConnectError) as refused:
            await get(http, url, family=family)
    assert "connection refused" in str(refused.value)


async def iter_body() -> AsyncIterator[bytes]:
    yield b"in two "
    yield b"parts"


async def test_a_request_body_of_either_family_is_sent(family: ModuleType) -> None:
    async with raw_server() as (url, observed), family.AsyncClient(transport=transport()) as http:
        await http.post(url, content=b"streamed by the client's own body class")
        await http.post(url, content=iter_body())
    assert observed.bodies == [b"streamed by the client's own body class", b"in two parts"]


async def test_a_body_left_unread_closes_its_connection() -> None:
    async def big(_: int, connection: h11.Connection, stream: anyio.abc.SocketStream) -> None:
        await answer(connection, stream, body=b"x" * 200_000)

    async with raw_server(big) as (url, observed), transport() as http:
        request = httpx.Request("GET", url, extensions={"timeout": httpx.Timeout(5.0).as_dict()})
        response = await http.handle_async_request(request)
        await response.aclose()  # read nothing
        assert (await get(http, url)).content == b"x" * 200_000
    assert observed.connections == 2


@pytest.mark.parametrize("status", [204, 304])
async def test_a_204_or_304_has_no_body_whatever_its_content_length_says(status: int) -> None:
    # A 304's content-length is the length the body would have had (RFC 9110 8.6): read as
    # a body, it would wait for bytes that never come, or take the next answer's for its own.
    async def bodiless_then_ok(
        index: int, connection: h11.Connection, stream: anyio.abc.SocketStream
    ) -> None:
        if index > 0:
            await answer(connection, stream)
            return
        head = h11.Response(status_code=status, headers=[("content-length", "5")])
        data = connection.send(head) or b""
        await stream.send(data + (connection.send(h11.EndOfMessage()) or b""))

    async with raw_server(bodiless_then_ok) as (url, observed), transport() as http:
        first = await get(http, f"{url}/bodiless")
        second = await get(http, f"{url}/next")
    assert (first.status_code, first.content) == (status, b"")
    assert first.headers["content-length"] == "5"
    assert (second.status_code, second.content) == (200, b"ok")
    assert observed.connections == 1  # the connection stayed in step for the next answer


@pytest.mark.parametrize("status", [204, 304])
async def test_bytes_after_a_204_or_304_head_are_not_taken_for_its_body(status: int) -> None:
    # The test above fails on a body read only by its time-out: here a server follows the
    # head at once with as many bytes as its content-length says, which a body read takes.
    head = f"HTTP/1.1 {status} Nothing\r\ncontent-length: 5\r\n\r\n".encode()
    async with raw_server(Raw.writing(head + b"stray")) as (url, _), transport() as http:
        response = await get(http, url)
    assert (response.status_code, response.content) == (status, b"")


async def test_invalid_headers_are_refused_before_sending() -> None:
    async with raw_server() as (url, observed), transport() as http:
        request = httpx.Request("GET", url, headers={"x-bad": "a\x00b"})
        with pytest.raises(httpx.LocalProtocolError):
            await http.handle_async_request(request)
    assert observed.requests == []


async def test_a_waiter_cancelled_as_its_turn_comes_passes_the_turn_on() -> None:
    """The pool itself: the turn handed to a waiter that leaves before it runs goes on."""
    pool = Pool(max_connections=1, max_idle=0)
    await pool.reserve(None, None)  # the one slot, taken
    served: list[str] = []
    leaving = anyio.CancelScope()

    async def waiter(name: str, scope: anyio.CancelScope) -> None:
        with scope:
            await pool.reserve(None, None)
            served.append(name)
            pool.unreserve()

    with anyio.fail_after(10):  # a bound for a failing run, not a measure
        async with anyio.create_task_group() as group:
            group.start_soon(waiter, "first in line", leaving)
            await anyio.wait_all_tasks_blocked()
            group.start_soon(waiter, "second in line", anyio.CancelScope())
            await anyio.wait_all_tasks_blocked()
            leaving.cancel()  # the first in line is told to leave, and before it runs ...
            pool.unreserve()  # ... it is handed the turn
    assert served == ["second in line"]


async def test_https_verifies_the_server_and_keeps_the_connection() -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    async with raw_server(tls=server_context) as (url, observed):
        async with transport(trusting) as http:
            for _ in range(3):
                assert (await get(http, url)).content == b"ok"
        assert observed.connections == 1  # TLS 1.3 session tickets do not make it look stale
        async with transport() as untrusting:  # the system's CAs do not know this one
            with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
                await get(untrusting, url)


async def test_the_client_speaks_https_with_the_system_trust_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))  # what httpx's context reads
    async with (
        raw_server(tls=server_context) as (url, observed),
        MomentoClient("token", base_url=url) as client,
    ):
        assert await client.get("cache", "key") == b"ok"
        assert await client.get("cache", "key") == b"ok"
    assert observed.requests == [b"/cache/cache?key=key"] * 2
    assert observed.connections == 1


async def test_reuse_works_past_descriptor_1023() -> None:
    # select() cannot watch descriptors from 1024 up; a thousand subscriptions get there.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4096)), hard))
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        async with raw_server() as (url, observed), transport() as http:
            for _ in range(3):
                assert (await get(http, url)).content == b"ok"
        assert observed.connections == 1
    finally:
        for descriptor in filler:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
