"""Slow and stuck clients: a deadline for each request, a cap on connections, quiet logs."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import anyio.abc
import httpx
import pytest
from conftest import CACHE, raw_connection

from momento_http.local import LocalServer, Settings

# The servers' request timeout here: every well-behaved request must beat it too, so it
# is long enough for a loaded machine to send a whole head in.
TIMEOUT = 1.0
CAP = 4  # their connection cap


@pytest.fixture
def guarded() -> Iterator[LocalServer]:
    settings = Settings(
        request_timeout_seconds=TIMEOUT, max_connections=CAP, poll_hold_seconds=2 * TIMEOUT
    )
    with LocalServer([CACHE], settings=settings) as server:
        yield server


async def read_to_end(stream: anyio.abc.SocketStream, seconds: float = 10) -> tuple[bytes, bool]:
    """Everything the server sends until it closes; and whether it closed cleanly (no reset)."""
    answer = b""
    with anyio.fail_after(seconds):
        while True:
            try:
                answer += await stream.receive()
            except anyio.EndOfStream:
                return answer, True
            except anyio.BrokenResourceError:
                return answer, False


def get(server: LocalServer, token: str | None = None) -> bytes:
    auth = f"authorization: {token}\r\n" if token else ""
    return f"GET /cache/{CACHE}?key=k HTTP/1.1\r\nhost: x\r\n{auth}\r\n".encode()


async def served(server: LocalServer) -> int:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get(
            f"/cache/{CACHE}", params={"key": "k"}, headers={"authorization": server.api_key}
        )
    return response.status_code


async def test_a_head_that_never_ends_is_answered_408_and_closed(guarded: LocalServer) -> None:
    async with raw_connection(guarded) as slow:
        await slow.send(b"GET /cache/")
        async with anyio.create_task_group() as group:

            async def drip() -> None:
                for byte in b"test-cache?key=k HTTP/1.1\r\nhost: x\r\nx-slow: ":
                    await anyio.sleep(0.05)
                    await slow.send(bytes([byte]))

            group.start_soon(drip)
            assert await served(guarded) == 404  # others are served meanwhile
            answer, clean = await read_to_end(slow)
            group.cancel_scope.cancel()
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert clean


async def test_a_connection_that_sends_nothing_is_closed(guarded: LocalServer) -> None:
    async with raw_connection(guarded) as idle:
        assert await read_to_end(idle) == (b"", True)


async def test_a_body_that_never_ends_is_answered_408(guarded: LocalServer) -> None:
    async with raw_connection(guarded) as slow:
        head = (
            f"PUT /cache/{CACHE}?key=k&ttl_seconds=60 HTTP/1.1\r\nhost: x\r\n"
            f"authorization: {guarded.api_key}\r\ncontent-length: 100\r\n\r\n"
        )
        await slow.send(head.encode() + b"only ten b")
        answer, clean = await read_to_end(slow)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert answer.endswith(f"the request's body took longer than {TIMEOUT:g} s".encode())
    assert clean


async def test_the_deadline_is_for_sending_requests_not_for_held_polls_or_keep_alive(
    guarded: LocalServer,
) -> None:
    headers = {"authorization": guarded.api_key}
    async with httpx.AsyncClient(base_url=guarded.base_url, headers=headers) as http:
        poll = await http.get(f"/topics/{CACHE}/held-past-the-deadline")  # held 2 s
        assert (poll.status_code, poll.json()) == (200, {"items": []})
        await anyio.sleep(TIMEOUT / 2)
        again = await http.get(f"/cache/{CACHE}", params={"key": "k"})  # the same connection
    assert again.status_code == 404


async def test_past_the_cap_a_connection_is_answered_503_and_closed(guarded: LocalServer) -> None:
    async with (
        raw_connection(guarded) as first,
        raw_connection(guarded) as second,
        raw_connection(guarded) as third,
        raw_connection(guarded) as fourth,
    ):
        for stream in (first, second, third, fourth):
            await stream.send(b"GET /cache/")  # a head begun, never finished
        async with raw_connection(guarded) as fifth:
            await fifth.send(get(guarded, guarded.api_key))
            answer, clean = await read_to_end(fifth)
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        assert b"retry-after: 1\r\n" in answer
        assert answer.endswith(b"\r\n\r\nthe local server has too many connections")
        assert clean
    with anyio.fail_after(10):  # the four close: there is room again
        while (status := await served(guarded)) == 503:  # noqa: ASYNC110
            await anyio.sleep(0.02)
    assert status == 404


async def test_stuck_clients_holding_every_connection_are_cut_loose(guarded: LocalServer) -> None:
    async with (
        raw_connection(guarded) as first,
        raw_connection(guarded) as second,
        raw_connection(guarded) as third,
        raw_connection(guarded) as fourth,
    ):
        for stream in (first, second, third, fourth):
            await stream.send(b"GET /cache/")  # and then nothing, for ever
        refused = await served(guarded)
        with anyio.fail_after(10):
            while (status := await served(guarded)) == 503:  # noqa: ASYNC110
                await anyio.sleep(0.02)
    assert (refused, status) == (503, 404)


async def test_an_oversized_head_is_answered_not_reset(guarded: LocalServer) -> None:
    async with raw_connection(guarded) as big:
        head = get(guarded).replace(b"host: x\r\n", b"x-big: " + b"a" * 1_000_000 + b"\r\n")
        async with anyio.create_task_group() as group:
            group.start_soon(big.send, head)
            answer, clean = await read_to_end(big)
            group.cancel_scope.cancel()
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert clean


# The command line's server, its open-file limit set to 256 before it starts.
FEW_FILES = """
import resource, runpy, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
sys.argv[0] = "python -m momento_http.local"
runpy.run_module("momento_http.local", run_name="__main__")
"""


@contextmanager
def cli_with_few_files(tmp_path: Path, *arguments: str) -> Iterator[tuple[int, Path]]:
    """The command line's server with an open-file limit of 256; its port and its log."""
    log = tmp_path / "stderr.txt"
    command = [sys.executable, "-c", FEW_FILES, "--port", "0", "--token", "t", *arguments]
    with (
        log.open("wb") as stderr,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True) as process,
    ):
        try:
            assert process.stdout is not None
            url = process.stdout.readline().split()[-1]
            yield int(url.rsplit(":", 1)[1]), log
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.mark.skipif(sys.platform == "win32", reason="sets a POSIX open-file limit")
def test_300_slow_clients_under_a_256_file_limit_starve_no_one_and_flood_no_log(
    tmp_path: Path,
) -> None:
    with cli_with_few_files(tmp_path, "--request-timeout-seconds", "1") as (port, log):
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(300)]
        try:
            for connection in slow:
                connection.sendall(b"G")
            deadline = time.monotonic() + 5
            while True:
                try:
                    response = httpx.get(
                        f"http://127.0.0.1:{port}/cache/default-cache",
                        params={"key": "k"},
                        headers={"authorization": "t"},
                        timeout=1,
                    )
                except httpx.HTTPError:
                    response = None
                if response is not None and response.status_code == 404:
                    break
                assert time.monotonic() < deadline, "never served while the slow ones hung on"
                time.sleep(0.05)
        finally:
            for connection in slow:
                connection.close()
        text = log.read_text()
    assert "Traceback" not in text
    assert len(text) < 4000, text[:4000]
    assert "refused a connection" in text  # said once, with a count of the rest


def test_settings_reject_what_makes_no_sense() -> None:
    with pytest.raises(ValueError, match="max_connections must be a positive number"):
        Settings(max_connections=0)
    with pytest.raises(ValueError, match="request_timeout_seconds must be a positive"):
        Settings(request_timeout_seconds=float("nan"))
    with pytest.raises(ValueError, match="header_faults must be True or False"):
        Settings(header_faults=json.loads("1"))
