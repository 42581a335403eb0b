"""A raw HTTP/1.1 server on loopback that does whatever a test tells it, however wrong."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
import h11
from anyio.streams.tls import TLSListener

# What the server does with each request: (connection's request index, h11 connection,
# stream) -> None. It may answer, stall, close, or write anything.
Behaviour = Callable[[int, h11.Connection, anyio.abc.SocketStream], Awaitable[None]]


class Raw:
    """Behaviours that write raw bytes, whatever h11 would allow."""

    @staticmethod
    def writing(*parts: bytes, then_close: bool = True) -> Behaviour:
        """Write the parts, then close the connection (or hold it open forever)."""

        async def behave(_: int, __: h11.Connection, stream: anyio.abc.SocketStream) -> None:
            for part in parts:
                await stream.send(part)
            if not then_close:
                await anyio.sleep_forever()

        return behave

    @staticmethod
    def repeating(head: bytes, part: bytes, every: float, *, limit: int | None = None) -> Behaviour:
        """Write the head, then the part again and again, pausing between writes."""

        async def behave(_: int, __: h11.Connection, stream: anyio.abc.SocketStream) -> None:
            await stream.send(head)
            sent = 0
            while limit is None or sent < limit:
                await stream.send(part)
                sent += 1
                await anyio.sleep(every)

        return behave


@dataclass
class Observed:
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)


def head(status: str = "200 OK", *headers: str) -> bytes:
    """A response head as raw bytes, for `Raw.writing`: "HTTP/1.1 <status>" and the lines."""
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers]) + "\r\n\r\n").encode()


async def answer(
    connection: h11.Connection,
    stream: anyio.abc.SocketStream,
    body: bytes = b"ok",
    headers: tuple[tuple[str, str], ...] = (),
    *,
    status: int = 200,
    reason: bytes = b"",
) -> None:
    """Answer the request, as h11 frames it, with a content-length and the connection kept."""
    fields = [("content-length", str(len(body))), *headers]
    data = connection.send(h11.Response(status_code=status, headers=fields, reason=reason)) or b""
    data += connection.send(h11.Data(data=body)) or b""
    await stream.send(data + (connection.send(h11.EndOfMessage()) or b""))


async def keep_alive(
    index: int, connection: h11.Connection, stream: anyio.abc.SocketStream
) -> None:
    await answer(connection, stream)


@asynccontextmanager
async def raw_server(
    behaviour: Behaviour = keep_alive, *, tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[str, Observed]]:
    observed = Observed()

    async def serve(stream: anyio.abc.SocketStream) -> None:
        observed.connections += 1
        observed.open_now += 1
        observed.most_open = max(observed.most_open, observed.open_now)
        connection = h11.Connection(h11.SERVER)
        index = 0
        body = b""
        try:
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    try:
                        connection.receive_data(await stream.receive())
                    except (
                        anyio.EndOfStream,
                        anyio.BrokenResourceError,
                        anyio.ClosedResourceError,
                        ssl.SSLError,  # a client that refused our certificate
                    ):
                        return
                    continue
                if isinstance(event, h11.Request):
                    observed.requests.append(event.target)
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    observed.bodies.append(body)
                    body = b""
                    try:
                        await behaviour(index, connection, stream)
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                        return  # the client gave up on a misbehaving answer: as expected
                    index += 1
                    if connection.our_state is not h11.DONE:
                        return
                    connection.start_next_cycle()
                elif isinstance(event, h11.ConnectionClosed):
                    return
        finally:
            observed.open_now -= 1
            await anyio.aclose_forcefully(stream)

    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = tcp.extra(anyio.abc.SocketAttribute.local_port)
    listener: anyio.abc.Listener[Any] = tcp if tls is None else TLSListener(tcp, tls)
    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, serve)
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}", observed
        group.cancel_scope.cancel()
