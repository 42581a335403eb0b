"""Happy eyeballs (RFC 8305) on asyncio: a name's addresses raced, the first to connect kept.

A name with IPv6 and IPv4 addresses (or several of one family) is not tried one address
after another, each waiting out its own time-out: the next attempt starts when the one
before it fails, or after 250 ms if it has neither failed nor connected, and the first
connection made wins. On trio, `anyio.connect_tcp` races the same way.

asyncio has a race of its own (`create_connection(happy_eyeballs_delay=...)`), but when it
is cancelled, as the try's deadline cancels connects, it leaves a socket to the garbage
collector. Here each attempt closes its socket unless it wins, and the race closes the
winner if it is cancelled after all.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Sequence
from typing import Any, Final, TypeAlias

import anyio

from momento_http._transport._exceptions import ConnectionAttemptsError

__all__ = ["CONNECTION_ATTEMPT_DELAY", "AddressInfo", "connect_first", "interleave", "open_socket"]

CONNECTION_ATTEMPT_DELAY: Final = 0.25
"""Seconds an attempt has before the next one starts beside it (RFC 8305 §8 recommends it)."""

AddressInfo: TypeAlias = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]
"""One of `getaddrinfo`'s answers: family, type, protocol, canonical name, socket address."""


async def open_socket(loop: asyncio.AbstractEventLoop, host: str, port: int) -> socket.socket:
    """Resolve a host and connect to the first of its addresses that answers.

    Args:
        loop: The running event loop.
        host: A name or an IP address (IPv6 without brackets).
        port: The port.

    Returns:
        A connected, non-blocking socket, the caller's to close.

    Raises:
        OSError: The name could not be resolved (`socket.gaierror`), or no address took
            the connection (the one failure if there was one address, else a
            `ConnectionAttemptsError`).
    """
    return await connect_first(loop, interleave(await _resolve(loop, host, port)))


async def _resolve(loop: asyncio.AbstractEventLoop, host: str, port: int) -> Sequence[AddressInfo]:
    try:  # an IP address: no lookup, so no worker thread either (asyncio spares it too)
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        pass
    found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    return found


def interleave(addresses: Sequence[AddressInfo]) -> list[AddressInfo]:
    """Order addresses as RFC 8305 §4 says: families taking turns, the resolver's first first.

    Within a family the resolver's order (RFC 6724's preferences) is kept.
    """
    families: dict[int, list[AddressInfo]] = {}
    for address in addresses:
        families.setdefault(address[0], []).append(address)
    turns = itertools.zip_longest(*families.values())
    return [address for turn in turns for address in turn if address is not None]


async def connect_first(
    loop: asyncio.AbstractEventLoop,
    addresses: Sequence[AddressInfo],
    delay: float = CONNECTION_ATTEMPT_DELAY,
) -> socket.socket:
    """Connect to the first address that answers, starting attempts in the order given.

    An attempt starts when the one before it has failed, or `delay` seconds after it began.
    The first to connect wins and the others are stopped; every socket but the winner's is
    closed before this returns or raises, cancelled or not.

    Args:
        loop: The running event loop.
        addresses: Where to connect, in order (see `interleave`); at least one.
        delay: Seconds an attempt has before the next one starts beside it.

    Returns:
        The winner's connected, non-blocking socket, the caller's to close.

    Raises:
        OSError: Every attempt failed: the one failure if there was one address, else a
            `ConnectionAttemptsError` naming each address's.
    """
    if len(addresses) == 1:  # nothing to race: spare the task group
        return await _connect(loop, addresses[0])
    winner: socket.socket | None = None
    failures: list[tuple[int, AddressInfo, OSError]] = []

    async def attempt(index: int, address: AddressInfo, done: anyio.Event) -> None:
        nonlocal winner
        try:
            sock = await _connect(loop, address)
        except OSError as failure:
            failures.append((index, address, failure))
            done.set()  # the next attempt starts now
            return
        if winner is None:
            winner = sock
            group.cancel_scope.cancel()
        else:  # connected in the same turn as the winner
            sock.close()

    try:
        async with anyio.create_task_group() as group:
            for index, address in enumerate(addresses):
                done = anyio.Event()
                group.start_soon(attempt, index, address, done)
                with anyio.move_on_after(delay):
                    await done.wait()
    except BaseException:
        if winner is not None:
            winner.close()
        raise
    if winner is not None:
        return winner
    failures.sort(key=lambda failed: failed[0])
    raise ConnectionAttemptsError([(_shown(address), failure) for _, address, failure in failures])


async def _connect(loop: asyncio.AbstractEventLoop, address: AddressInfo) -> socket.socket:
    """One attempt: the connected socket; or, failed or cancelled, the socket closed."""
    family, kind, protocol, _, sockaddr = address
    sock = socket.socket(family, kind, protocol)  # OSError: a family this machine lacks
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def _shown(address: AddressInfo) -> str:
    host, port = address[4][0], address[4][1]
    return f"[{host}]:{port}" if address[0] == socket.AF_INET6 else f"{host}:{port}"
