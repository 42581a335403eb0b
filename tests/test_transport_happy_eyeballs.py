"""Happy eyeballs on asyncio: addresses raced on real loopback sockets, every loser closed.

This machine's names resolve to one address, so the race is given its addresses directly,
as `getaddrinfo` gives them. An address whose connect never completes is a listener whose
accept queue is full: Linux drops the SYNs it gets, and the connect waits on.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import sys
from collections.abc import Iterator

import anyio
import httpx
import pytest
from conftest import UVLOOP, ipv6_loopback, until

from momento_http import MomentoClient, MomentoTimeoutError, MomentoTransport
from momento_http._transport._exceptions import ConnectionAttemptsError, plain_reason
from momento_http._transport._happy_eyeballs import AddressInfo, connect_first, interleave

LINUX_ONLY = pytest.mark.skipif(
    sys.platform != "linux", reason="a full accept queue drops SYNs, and /proc lists sockets"
)
BOUND = 20  # seconds: far past what any outcome here takes, unless the race waits wrongly


@pytest.fixture(scope="module", params=["asyncio", UVLOOP])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """The race is asyncio's (trio's is anyio's): on asyncio's transports and uvloop's."""
    return request.param


def address(host: str, port: int) -> AddressInfo:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]


def open_sockets() -> set[str]:
    """This process's open sockets, by inode: a number reused later is a new socket."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed since listed
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


@pytest.fixture
def listening() -> Iterator[AddressInfo]:
    """A port that takes connections (the kernel completes them; nobody accepts)."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as server:
        yield address("127.0.0.1", server.getsockname()[1])


def refusing(host: str = "127.0.0.1") -> AddressInfo:
    """A port nothing listens on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as closed:
        closed.bind((host, 0))
        return address(host, closed.getsockname()[1])


@pytest.fixture
def blackhole() -> Iterator[AddressInfo]:
    """A port whose connects never complete: its one-place accept queue is full."""
    with socket.create_server(("127.0.0.1", 0), backlog=0) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):  # takes the place
            yield address("127.0.0.1", port)


def test_families_take_turns_the_resolvers_first_first() -> None:
    v6 = [address("::1", port) for port in (1, 2, 3)]
    v4 = [address("127.0.0.1", port) for port in (4, 5)]
    assert interleave([*v6, *v4]) == [v6[0], v4[0], v6[1], v4[1], v6[2]]
    assert interleave([v4[0], *v6, v4[1]]) == [v4[0], v6[0], v4[1], v6[1], v6[2]]
    assert interleave(v4) == v4


@LINUX_ONLY
async def test_a_refused_address_starts_the_next_at_once(listening: AddressInfo) -> None:
    before = open_sockets()
    loop = asyncio.get_running_loop()
    with anyio.fail_after(BOUND):  # without a failure's go-ahead it would wait forever
        sock = await connect_first(loop, [refusing(), listening], delay=math.inf)
    with sock:
        assert sock.getpeername()[:2] == listening[4]
        assert open_sockets() - before == {os.readlink(f"/proc/self/fd/{sock.fileno()}")}
    assert open_sockets() - before == set()


@LINUX_ONLY
async def test_an_address_that_hangs_is_raced_by_the_next_and_closed_when_it_wins(
    blackhole: AddressInfo, listening: AddressInfo
) -> None:
    before = open_sockets()
    loop = asyncio.get_running_loop()
    with anyio.fail_after(BOUND):  # one after the other, the first would hold ~2 minutes
        sock = await connect_first(loop, [blackhole, listening], delay=0.05)
    with sock:
        assert sock.getpeername()[:2] == listening[4]
    assert open_sockets() - before == set()  # the hung attempt's socket too


@LINUX_ONLY
async def test_a_cancelled_race_closes_every_socket(blackhole: AddressInfo) -> None:
    before = open_sockets()
    loop = asyncio.get_running_loop()
    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            group.start_soon(connect_first, loop, [blackhole, blackhole, blackhole], 0)
            await until(lambda: len(open_sockets() - before) >= 3, "every attempt under way")
            group.cancel_scope.cancel()
    assert open_sockets() - before == set()


async def test_when_every_address_fails_each_ones_reason_is_named() -> None:
    second = refusing("::1") if ipv6_loopback() else refusing()
    first = refusing()
    loop = asyncio.get_running_loop()
    with pytest.raises(ConnectionAttemptsError) as caught, anyio.fail_after(BOUND):
        await connect_first(loop, [first, second], delay=math.inf)
    shown = [f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in (first[4][:2], second[4][:2])]
    assert plain_reason(caught.value) == (
        f"{shown[0]}: connection refused; {shown[1]}: connection refused"
    )


@LINUX_ONLY
async def test_the_tries_deadline_ends_a_connect_and_closes_its_socket(
    blackhole: AddressInfo,
) -> None:
    host, port = blackhole[4][:2]
    before = open_sockets()
    with anyio.fail_after(BOUND):
        async with MomentoClient(
            "t", base_url=f"http://{host}:{port}", timeout=0.2, retry=None
        ) as client:
            with pytest.raises(MomentoTimeoutError) as caught:
                await client.get("cache", "k")
    assert caught.value.request_sent is False
    assert open_sockets() - before == set()


@LINUX_ONLY
async def test_a_connect_timeout_through_the_transport_leaves_no_socket(
    blackhole: AddressInfo,
) -> None:
    host, port = blackhole[4][:2]
    before = open_sockets()
    timeout = httpx.Timeout(5, connect=0.1)
    async with httpx.AsyncClient(transport=MomentoTransport(), timeout=timeout) as http:
        with pytest.raises(httpx.ConnectTimeout, match=f"connecting to {host}:{port}"):
            await http.get(f"http://{host}:{port}/k")
    assert open_sockets() - before == set()
