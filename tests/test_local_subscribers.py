"""`LocalServer.wait_for_subscribers`: a test's start made deterministic."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
import pytest
from conftest import CACHE, EVENT_LOOPS, unique, until

from momento_http.local import LocalServer, Settings

TOKEN = "order-token"


@pytest.fixture(scope="module", params=EVENT_LOOPS)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The wait runs on the caller's loop against the server's thread: held on each."""
    return str(request.param)


@pytest.fixture(scope="module")
def holding() -> Iterator[LocalServer]:
    """A server that holds a quiet poll for longer than any test here runs."""
    with LocalServer([CACHE], settings=Settings(poll_hold_seconds=30)) as server:
        yield server


class Poller:
    """A raw poll of a topic, run in a task; what it got once answered."""

    def __init__(self, server: LocalServer, topic: str) -> None:
        self.server = server
        self.topic = topic
        self.items: list[dict[str, Any]] | None = None

    async def __call__(self) -> None:
        async with httpx.AsyncClient(base_url=self.server.base_url) as http:
            response = await http.get(
                f"/topics/{CACHE}/{self.topic}", headers={"authorization": self.server.api_key}
            )
        self.items = response.json()["items"]


async def publish(server: LocalServer, topic: str, text: str) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            f"/topics/{CACHE}/{topic}", headers={"authorization": server.api_key}, content=text
        )
    assert response.status_code == 204


async def test_it_returns_once_a_poll_is_held(holding: LocalServer) -> None:
    topic = unique("held")
    with pytest.raises(TimeoutError):  # no poll yet: it does not return early
        await holding.wait_for_subscribers(CACHE, topic, timeout=0.1)
    poller = Poller(holding, topic)
    async with anyio.create_task_group() as group:
        group.start_soon(poller)
        await holding.wait_for_subscribers(CACHE, topic)
        assert holding.held_polls(CACHE, topic) == 1
        assert poller.items is None  # still waiting...
        await publish(holding, topic, "published after the wait")
    assert poller.items is not None  # ...so it hears what comes next
    assert [entry["item"]["value"] for entry in poller.items] == [
        {"text": "published after the wait"}
    ]


async def test_count_2_waits_for_two_polls(holding: LocalServer) -> None:
    topic = unique("two")
    waited = anyio.Event()

    async def wait_for_two() -> None:
        await holding.wait_for_subscribers(CACHE, topic, count=2)
        waited.set()

    async with anyio.create_task_group() as group:
        group.start_soon(wait_for_two)
        group.start_soon(Poller(holding, topic))
        await holding.wait_for_subscribers(CACHE, topic, count=1)
        assert not waited.is_set()  # one is held, not two
        group.start_soon(Poller(holding, topic))
        with anyio.fail_after(5):
            await waited.wait()
        assert holding.held_polls(CACHE, topic) == 2
        await publish(holding, topic, "both answered")


async def test_it_times_out_naming_what_it_waited_for(holding: LocalServer) -> None:
    topic = unique("short")
    async with anyio.create_task_group() as group:
        group.start_soon(Poller(holding, topic))
        await holding.wait_for_subscribers(CACHE, topic)
        with pytest.raises(TimeoutError) as caught:
            await holding.wait_for_subscribers(CACHE, topic, count=3, timeout=0.2)
        await publish(holding, topic, "done")
    message = str(caught.value)
    assert f"holds 1 poll(s) of topic {topic!r} in cache {CACHE!r}" in message
    assert "not the 3 awaited, after 0.2 s" in message


async def test_a_poll_its_client_abandoned_stops_counting(holding: LocalServer) -> None:
    topic = unique("abandoned")
    async with anyio.create_task_group() as group:
        group.start_soon(Poller(holding, topic))
        await holding.wait_for_subscribers(CACHE, topic)
        group.cancel_scope.cancel()  # the client goes away, closing its connection
    await until(lambda: not holding.held_polls(CACHE, topic), "the abandoned poll to go")
    with pytest.raises(TimeoutError, match="holds 0 poll"):
        await holding.wait_for_subscribers(CACHE, topic, timeout=0.05)


async def test_synchronous_code_waits_with_the_sync_twin(holding: LocalServer) -> None:
    topic = unique("sync")
    async with anyio.create_task_group() as group:
        group.start_soon(Poller(holding, topic))
        await anyio.to_thread.run_sync(holding.wait_for_subscribers_sync, CACHE, topic)
        assert holding.held_polls(CACHE, topic) == 1
        with pytest.raises(TimeoutError):
            await anyio.to_thread.run_sync(
                lambda: holding.wait_for_subscribers_sync(CACHE, topic, count=2, timeout=0.05)
            )
        await publish(holding, topic, "done")


async def test_a_server_not_running_is_an_error() -> None:
    server = LocalServer([CACHE])
    with pytest.raises(RuntimeError, match="not running"):
        await server.wait_for_subscribers(CACHE, "t")
    with pytest.raises(RuntimeError, match="not running"):
        server.wait_for_subscribers_sync(CACHE, "t")


def _raw_request(base_url: str, head: str, body: bytes = b"") -> socket.socket:
    """Send one request on a fresh connection; the socket, to read the answer from."""
    url = httpx.URL(base_url)
    connection = socket.create_connection((url.host, url.port or 80), timeout=5)
    request = f"{head}\r\nhost: {url.netloc.decode()}\r\nauthorization: {TOKEN}\r\n"
    connection.sendall(f"{request}content-length: {len(body)}\r\n\r\n".encode() + body)
    return connection


# A server in a process of its own (in this one, the GIL would order the reads), which says
# "held" once the poll it is told of is held.
SAYS_HELD = f"""
import sys
from momento_http.local import LocalServer
with LocalServer([{CACHE!r}], token={TOKEN!r}) as server:
    print(server.base_url, flush=True)
    topic = sys.stdin.readline().strip()
    server.wait_for_subscribers_sync({CACHE!r}, topic, timeout=30)
    print("held", flush=True)
    sys.stdin.readline()
"""


@contextmanager
def server_saying_held() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The local server in a subprocess; its base URL, and the process to talk to."""
    command = [sys.executable, "-c", SAYS_HELD]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            yield process.stdout.readline().strip(), process
        finally:
            process.stdin.close()  # its last read ends: it stops the server and exits
            assert process.wait(timeout=10) == 0


def test_a_held_poll_hears_a_message_before_its_publisher_hears_it_taken() -> None:
    with (
        server_saying_held() as (base_url, process),
        _raw_request(base_url, f"GET /topics/{CACHE}/order HTTP/1.1") as poll,
    ):
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write("order\n")
        process.stdin.flush()
        assert process.stdout.readline() == "held\n"
        poll.setblocking(False)
        with pytest.raises(BlockingIOError):
            poll.recv(1)  # held: no answer yet
        with _raw_request(base_url, f"POST /topics/{CACHE}/order HTTP/1.1", b"m1") as publish:
            assert publish.recv(4096).startswith(b"HTTP/1.1 204")
            # On loopback a write is in the peer's buffer as soon as it returns: the poll's
            # answer, written before the receipt, is there to read right now.
            answer = poll.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200")
    assert b'"text":"m1"' in answer
