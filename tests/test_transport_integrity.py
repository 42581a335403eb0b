"""MomentoTransport never hands one request another's answer, and fails the same way everywhere.

Each test's server misbehaves the way a broken or hostile peer would: answers nobody asked
for, answers framed two ways, a socket that stops reading or resets mid-request.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import anyio
import anyio.abc
import h11
import httpx
import pytest
from anyio import wait_all_tasks_blocked
from anyio.abc import SocketStream
from conftest import UVLOOP
from raw_http import answer, raw_server

from momento_http import MomentoTransport
from momento_http._transport import REQUEST_STATE, RequestState, current_time


@pytest.fixture(scope="module", params=["asyncio", "trio", UVLOOP])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """The connection's code differs per event loop: each is held to the same behaviour."""
    return request.param


def value_of(target: bytes) -> bytes:
    """What the test servers answer to a request: its path's last segment."""
    return target.rsplit(b"/", 1)[-1]


@contextmanager
def pushing_server() -> Iterator[tuple[str, threading.Event, threading.Event, list[int]]]:
    """A server in a thread of its own: it answers each request with its path's last
    segment; after the first answer, once told to (`push`), it pushes a second one nobody
    asked for, then says so (`pushed`).
    """
    push = threading.Event()
    pushed = threading.Event()
    connections: list[int] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            connections.append(1)
            connection = h11.Connection(h11.SERVER)
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    data = self.request.recv(65_536)
                    if not data:
                        return
                    connection.receive_data(data)
                elif isinstance(event, h11.Request):
                    body = value_of(event.target)
                    head = h11.Response(
                        status_code=200, headers=[("content-length", str(len(body)))]
                    )
                    out = connection.send(head) + connection.send(h11.Data(data=body))
                    self.request.sendall(out + connection.send(h11.EndOfMessage()))
                    if body == b"k1" and push.wait(timeout=10):
                        self.request.sendall(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nEXTRA:k1"
                        )
                        pushed.set()
                elif isinstance(event, h11.EndOfMessage):
                    connection.start_next_cycle()
                else:
                    return

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler) as server:
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}", push, pushed, connections
        finally:
            server.shutdown()


async def test_an_answer_nobody_asked_for_is_never_taken_for_the_next_one() -> None:
    with pushing_server() as (url, push, pushed, connections):
        async with httpx.AsyncClient(transport=MomentoTransport()) as http:
            assert (await http.get(f"{url}/k1")).content == b"k1"
            push.set()
            # The event loop is kept busy (blocked) until the unasked answer is in the socket:
            # it cannot have handed those bytes over when the next request is sent.
            assert pushed.wait(timeout=10)
            assert (await http.get(f"{url}/k2")).content == b"k2"
            assert (await http.get(f"{url}/k3")).content == b"k3"
    assert len(connections) == 2  # the first connection, which had the extra, was closed


SMUGGLED = b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nPOISON"


async def test_an_answer_framed_both_by_length_and_by_chunks_is_refused() -> None:
    body = b"2\r\nk1\r\n0\r\n\r\n" + SMUGGLED

    async def smuggle(index: int, connection: h11.Connection, stream: SocketStream) -> None:
        if observed.requests[-1] == b"/k1":
            head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n"
            await stream.send(head + f"content-length: {len(body)}\r\n\r\n".encode() + body)
            await anyio.sleep_forever()
        await answer(connection, stream, body=b"k2")

    async with (
        raw_server(smuggle) as (url, observed),
        httpx.AsyncClient(transport=MomentoTransport()) as http,
    ):
        with pytest.raises(httpx.RemoteProtocolError, match="both a content-length and a"):
            await http.get(f"{url}/k1")
        assert (await http.get(f"{url}/k2")).content == b"k2"
    assert observed.connections == 2


async def test_a_request_whose_content_length_is_not_its_bodys_is_never_sent() -> None:
    async def lie(request: httpx.Request) -> None:
        request.headers["content-length"] = "3"

    async with (
        raw_server() as (url, observed),
        httpx.AsyncClient(transport=MomentoTransport(), event_hooks={"request": [lie]}) as http,
    ):
        with pytest.raises(httpx.LocalProtocolError, match=r"content-length \(3\) is not"):
            await http.put(f"{url}/k", content=b"value")
        assert observed.requests == []


async def test_a_slot_given_up_goes_to_the_request_that_waited_first() -> None:
    release_first = anyio.Event()

    async def hold_the_first(index: int, connection: h11.Connection, stream: SocketStream) -> None:
        if observed.requests[-1] == b"/first":
            await release_first.wait()
        await answer(connection, stream, body=value_of(observed.requests[-1]))

    async with (
        raw_server(hold_the_first) as (url, observed),
        httpx.AsyncClient(transport=MomentoTransport(max_connections=1)) as http,
        anyio.create_task_group() as group,
    ):

        async def first_then_third() -> None:
            await http.get(f"{url}/first")
            await http.get(f"{url}/third")  # at once, as the first's slot is given up

        group.start_soon(first_then_third)
        await wait_all_tasks_blocked()  # the first is at the server
        group.start_soon(http.get, f"{url}/second")
        await wait_all_tasks_blocked()  # the second waits for the slot
        release_first.set()
    assert observed.requests == [b"/first", b"/second", b"/third"]


@asynccontextmanager
async def resetting_server() -> AsyncIterator[str]:
    """A server that resets each connection as it accepts it, reading nothing."""

    async def serve(stream: SocketStream) -> None:
        raw = stream.extra(anyio.abc.SocketAttribute.raw_socket)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await anyio.aclose_forcefully(stream)

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, serve)
        yield f"http://127.0.0.1:{port}"
        group.cancel_scope.cancel()


BIG = b"x" * 64 * 1024 * 1024  # past what the kernel's buffers take on loopback


async def test_a_write_the_server_never_takes_is_a_write_timeout() -> None:
    with socket.socket() as never_accepts:  # the kernel connects it; nothing ever reads
        never_accepts.bind(("127.0.0.1", 0))
        never_accepts.listen()
        url = f"http://127.0.0.1:{never_accepts.getsockname()[1]}"
        limits = httpx.Timeout(5.0, write=0.2)
        async with httpx.AsyncClient(transport=MomentoTransport(), timeout=limits) as http:
            with pytest.raises(httpx.WriteTimeout, match="sending the request"):
                await http.put(f"{url}/k", content=BIG)


async def test_a_write_the_server_resets_is_a_write_error() -> None:
    async with (
        resetting_server() as url,
        httpx.AsyncClient(transport=MomentoTransport()) as http,
    ):
        with pytest.raises(httpx.WriteError, match="sending the request failed"):
            await http.put(f"{url}/k", content=BIG)


async def test_bytes_at_hand_do_not_outlast_the_deadline() -> None:
    """Each body part is read within the try's deadline, bytes already received or not."""
    chunks = b"1\r\nx\r\n" * 200_000

    async def burst(index: int, connection: h11.Connection, stream: SocketStream) -> None:
        await stream.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunks)
        await anyio.sleep_forever()

    state = RequestState(deadline=current_time() + 30)
    async with raw_server(burst) as (url, _), MomentoTransport() as transport:
        request = httpx.Request("GET", f"{url}/k", extensions={REQUEST_STATE: state})
        response = await transport.handle_async_request(request)
        parts = aiter(response.stream)  # type: ignore[arg-type]
        assert len(await anext(parts)) > 1  # a burst's chunks come together, not one by one
        state.deadline = current_time()
        with pytest.raises(httpx.ReadTimeout):
            await anext(parts)
        assert state.timed_out
        await response.aclose()


async def test_a_connection_reset_before_the_answer_is_a_read_error() -> None:
    async def reset(_: int, __: h11.Connection, stream: SocketStream) -> None:
        raw = stream.extra(anyio.abc.SocketAttribute.raw_socket)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await anyio.aclose_forcefully(stream)

    async with (
        raw_server(reset) as (url, _),
        httpx.AsyncClient(transport=MomentoTransport()) as http,
    ):
        with pytest.raises(httpx.ReadError, match="reading the answer failed: connection reset"):
            await http.get(f"{url}/k")


async def test_a_clean_close_before_the_answer_is_a_protocol_error() -> None:
    async def close(_: int, __: h11.Connection, stream: SocketStream) -> None:
        await stream.aclose()

    async with (
        raw_server(close) as (url, _),
        httpx.AsyncClient(transport=MomentoTransport()) as http,
    ):
        with pytest.raises(
            httpx.RemoteProtocolError, match="closed the connection before answering"
        ):
            await http.get(f"{url}/k")
