"""A delay rule holds a request back; its client leaving, or the server stopping, ends it."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace

import anyio
import anyio.abc
import anyio.to_thread
import httpx
import pytest
from conftest import CACHE, local_cli, raw_connection, unique, until

from momento_http.local import Fault, LocalServer

DELAYS = [
    pytest.param(Fault(delay=300, count=None), id="served, then held back"),
    pytest.param(Fault(503, delay=300, count=None), id="held back, then answered 503"),
]


class Records(logging.Handler):
    """Every record at WARNING and above that reaches it."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def server_logs() -> Iterator[Records]:
    """What asyncio and the local server log at WARNING and above.

    Not uvicorn: each server it makes sets its logger's handlers anew (logging's
    dictConfig), to one that writes to stderr, which the tests read through `capfd`.
    """
    records = Records()
    loggers = [logging.getLogger(name) for name in ("asyncio", "momento_http")]
    for logger in loggers:
        logger.addHandler(records)
    yield records
    for logger in loggers:
        logger.removeHandler(records)


@asynccontextmanager
async def delayed_get(server: LocalServer, key: str) -> AsyncIterator[anyio.abc.SocketStream]:
    """A GET sent on a socket of its own, yielded once the server holds it back."""
    request = f"GET /cache/{CACHE}?key={key} HTTP/1.1\r\nhost: x\r\n"
    request += f"authorization: {server.api_key}\r\n\r\n"
    before = server.delayed_requests
    async with raw_connection(server) as stream:
        await stream.send(request.encode())
        await until(lambda: server.delayed_requests == before + 1)
        yield stream


@pytest.mark.parametrize("rule", DELAYS)
async def test_a_delayed_request_ends_when_its_client_goes(
    faulty: LocalServer, rule: Fault
) -> None:
    key = unique("abandoned")
    faulty.inject_fault(replace(rule, key=key))
    async with delayed_get(faulty, key):
        pass
    # The client closed its socket: the request ends, not 300 s later.
    await until(lambda: faulty.delayed_requests == 0)


@pytest.mark.parametrize("rule", DELAYS)
async def test_the_server_stops_at_once_and_quietly_after_its_client_went(
    server_logs: Records, capfd: pytest.CaptureFixture[str], rule: Fault
) -> None:
    async with LocalServer([CACHE], faults=[rule]) as server:
        async with delayed_get(server, "k"):
            pass
        await until(lambda: server.delayed_requests == 0)
    # uvicorn said "Cancel 1 running task(s), timeout graceful shutdown exceeded" after
    # waiting two seconds, with a CancelledError traceback.
    assert server_logs.lines == []
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("rule", DELAYS)
async def test_stopping_answers_a_delayed_request_at_once_and_quietly(
    server_logs: Records, capfd: pytest.CaptureFixture[str], rule: Fault
) -> None:
    async with (
        LocalServer([CACHE], faults=[rule]) as server,
        delayed_get(server, "k") as stream,
    ):
        await anyio.to_thread.run_sync(server.stop)
        answer = b""
        with anyio.fail_after(5):
            while True:
                try:
                    answer += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    break
    expected = b"HTTP/1.1 404 " if rule.status is None else b"HTTP/1.1 503 "
    assert answer.startswith(expected), answer[:100]
    assert server.delayed_requests == 0
    assert server_logs.lines == []
    assert capfd.readouterr().err == ""


def test_ctrl_c_on_the_command_line_stops_at_once_and_quietly(
    capfd: pytest.CaptureFixture[str],
) -> None:
    rule = '{"delay": 300, "method": "PUT", "count": null}'
    with socket.socket() as sock:
        with local_cli("--token", "t", "--fault", rule) as (base_url, _):
            host, port = base_url.removeprefix("http://").rsplit(":", 1)
            sock.connect((host, int(port)))
            put = "PUT /cache/default-cache?key=k&ttl_seconds=60 HTTP/1.1\r\nhost: x\r\n"
            sock.sendall(f"{put}authorization: t\r\ncontent-length: 1\r\n\r\nv".encode())
            # Served before it is held back: once the item is there, the answer is delayed.
            deadline = time.monotonic() + 10
            while not _stored(base_url):
                assert time.monotonic() < deadline, "the delayed PUT was never served"
        # Leaving local_cli sent Ctrl-C, with the client still waiting, and saw the server
        # exit with status 0.
        sock.settimeout(5)
        answer = sock.recv(100)
    assert answer.startswith(b"HTTP/1.1 204 "), answer
    assert capfd.readouterr().err == ""


def _stored(base_url: str) -> bool:
    url = f"{base_url}/cache/default-cache"
    return httpx.get(url, params={"key": "k"}, headers={"authorization": "t"}).status_code == 200
