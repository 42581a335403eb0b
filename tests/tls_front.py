"""A TLS front on loopback: TLS with the test's certificate, relayed to a plain server behind.

As a load balancer terminates TLS before Momento's servers, it lets the local server (plain
HTTP) be reached over https, with a certificate from a private authority (trustme's).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc
from anyio.streams.tls import TLSListener


async def _pipe(source: anyio.abc.ByteStream, sink: anyio.abc.ByteStream) -> None:
    try:
        async for data in source:
            await sink.send(data)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, ssl.SSLError, OSError):
        pass


@asynccontextmanager
async def tls_front(backend_port: int, context: ssl.SSLContext) -> AsyncIterator[int]:
    """Serve TLS on a loopback port, relaying each connection to 127.0.0.1:`backend_port`.

    Args:
        backend_port: The plain server's port.
        context: The server side's context, with its certificate.

    Yields:
        The port the front listens on.
    """

    async def relay(client: anyio.abc.ByteStream) -> None:
        async with (
            client,
            await anyio.connect_tcp("127.0.0.1", backend_port) as backend,
            anyio.create_task_group() as group,
        ):
            group.start_soon(_pipe, client, backend)
            await _pipe(backend, client)
            group.cancel_scope.cancel()  # either side closing ends the relay

    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = tcp.extra(anyio.abc.SocketAttribute.local_port)
    listener = TLSListener(tcp, context, standard_compatible=False)
    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, relay)
        yield port
        group.cancel_scope.cancel()
