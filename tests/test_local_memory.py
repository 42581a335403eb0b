"""The memory budget: items, topics and their rings all count, and the process stays within it."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from conftest import CACHE

from momento_http.local import LocalServer, Settings
from momento_http.local._cache_store import item_size
from momento_http.local._memory import TOPIC_OVERHEAD, text_size
from momento_http.local._topic_store import message_size

VALUE = b"v" * 100


def topic_size(topic: str, *messages: bytes) -> int:
    """What a topic of CACHE holding `messages` is counted as."""
    own = TOPIC_OVERHEAD + text_size(CACHE) + text_size(topic)
    return own + sum(message_size(message) for message in messages)


class Api:
    """Raw requests to a server of the test's own."""

    def __init__(self, server: LocalServer, http: httpx.AsyncClient) -> None:
        self.server = server
        self.http = http

    async def put(self, key: str, value: bytes = VALUE) -> int:
        params = {"key": key, "ttl_seconds": "600"}
        return (await self.http.put(f"/cache/{CACHE}", params=params, content=value)).status_code

    async def has(self, key: str) -> bool:
        response = await self.http.get(f"/cache/{CACHE}", params={"key": key})
        return response.status_code == 200

    async def publish(self, topic: str, value: bytes = b"m") -> int:
        headers = {"content-type": "application/octet-stream"}
        response = await self.http.post(f"/topics/{CACHE}/{topic}", content=value, headers=headers)
        return response.status_code

    async def poll(self, topic: str, sequence_number: int = 1) -> list[dict[str, Any]]:
        params = {"sequence_number": sequence_number}
        response = await self.http.get(f"/topics/{CACHE}/{topic}", params=params)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def page(self, topic: str) -> int | None:
        """The page of the topic's messages; None when it has none (a topic made anew)."""
        items = await self.poll(topic)
        return int(items[-1]["item"]["sequence_page"]) if items else None

    @property
    def used(self) -> int:
        used: int = self.server._app.budget.used  # what the server counts
        return used


@asynccontextmanager
async def budgeted(budget: int, **settings: Any) -> AsyncIterator[Api]:
    settings.setdefault("poll_hold_seconds", 0.1)
    async with LocalServer([CACHE], settings=Settings(max_memory_bytes=budget, **settings)) as s:
        headers = {"authorization": s.api_key}
        async with httpx.AsyncClient(base_url=s.base_url, headers=headers) as http:
            yield Api(s, http)


async def test_topics_count_and_the_least_recently_used_go() -> None:
    names = [f"t-{index:03d}" for index in range(200)]
    budget = 20 * topic_size(names[0], b"m")  # twenty topics with a message each
    async with budgeted(budget) as api:
        assert await api.publish(names[0]) == 204
        first_page = await api.page(names[0])
        for name in names[1:]:
            assert await api.publish(name) == 204
            assert api.used <= budget
        assert len(api.server._app.topics) <= 20
        newest = await api.poll(names[-1])
        assert [entry["item"]["topic_sequence_number"] for entry in newest] == [1]
        assert first_page is not None
        assert await api.page(names[0]) is None  # dropped: made anew, empty


async def test_idle_topics_go_before_items() -> None:
    budget = 10 * item_size(b"key-00", VALUE) + 3 * topic_size("t-0", b"m")
    async with budgeted(budget) as api:
        keys = [f"key-{index:02d}" for index in range(11)]
        for key in keys[:10]:
            assert await api.put(key) == 204
        for index in range(3):
            assert await api.publish(f"t-{index}") == 204
        pages = [await api.page(f"t-{index}") for index in range(3)]
        assert api.used == budget  # exactly full
        assert await api.put(keys[10]) == 204  # one more item: the oldest idle topic goes
        assert [await api.has(key) for key in keys] == [True] * 11
        assert await api.page("t-1") == pages[1] is not None
        assert await api.page("t-2") == pages[2] is not None
        assert await api.page("t-0") is None


async def test_a_topic_with_a_poll_waiting_is_kept() -> None:
    budget = 3 * topic_size("held", b"m") + 10 * item_size(b"key-00", VALUE)
    async with budgeted(budget, poll_hold_seconds=10) as api:
        assert await api.publish("held") == 204
        page = await api.page("held")
        answer: list[dict[str, Any]] = []

        async def wait_for_the_next() -> None:
            answer.extend(await api.poll("held", 2))

        async with anyio.create_task_group() as group:
            group.start_soon(wait_for_the_next)
            await api.server.wait_for_subscribers(CACHE, "held")
            for index in range(50):  # far past the budget
                assert await api.publish(f"other-{index}") == 204
                assert await api.put(f"key-{index:02d}") == 204
            assert await api.publish("held", b"second") == 204
        assert api.used <= budget
    (entry,) = answer
    assert entry["item"]["topic_sequence_number"] == 2  # no gap: the topic was kept
    assert entry["item"]["sequence_page"] == page


async def test_a_ring_counts_and_its_oldest_messages_go_when_memory_is_short() -> None:
    message = b"x" * 4096
    budget = topic_size("ring", *[message] * 20)  # room for twenty messages, not the ring's 1000
    async with budgeted(budget) as api:
        for _ in range(100):
            assert await api.publish("ring", message) == 204
        assert api.used <= budget
        entries = await api.poll("ring")
    gap = entries[0]["discontinuity"]
    numbers = [entry["item"]["topic_sequence_number"] for entry in entries[1:]]
    assert gap["last_topic_sequence"] == 0
    assert numbers == list(range(gap["new_topic_sequence"], 101))
    assert len(numbers) == 20


async def test_what_is_larger_than_the_whole_budget_is_refused_and_evicts_nothing() -> None:
    budget = topic_size("t", b"m") + item_size(b"small", VALUE)
    async with budgeted(budget, max_publish_bytes=budget) as api:
        assert await api.put("small") == 204
        big = await api.http.put(
            f"/cache/{CACHE}", params={"key": "big", "ttl_seconds": "60"}, content=b"x" * budget
        )
        assert big.status_code == 413
        assert "more than its whole memory budget" in big.text
        assert await api.publish("t", b"x" * (budget - 100)) == 413
        assert await api.has("small")


# --- the process, measured ----------------------------------------------------------------

BUDGET = 1 << 20
ALLOWANCE = 3 << 20  # what the process may grow beyond the budget: buffers, allocator slack


def _memory(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(field)


def _pipelined(port: int, requests: list[bytes], status: bytes = b"204") -> None:
    """Send requests on one connection, a batch at a time, each answered `status`."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        for start in range(0, len(requests), 200):
            batch = requests[start : start + 200]
            connection.sendall(b"".join(batch))
            answers = b""
            while answers.count(b"\r\n\r\n") < len(batch):  # these answers have no body
                answers += connection.recv(1 << 16)
            assert answers.count(b"HTTP/1.1 " + status + b" ") == len(batch), answers[:200]


def _request(method: str, target: str, body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nhost: x\r\nauthorization: t\r\n"
    return f"{head}content-length: {len(body)}\r\n\r\n".encode() + body


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
def test_the_process_grows_no_more_than_the_budget_under_many_topics_and_items() -> None:
    command = [sys.executable, "-m", "momento_http.local", "--port", "0", "--token", "t"]
    command += ["--max-memory-bytes", str(BUDGET)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline().split()[-1].rsplit(":", 1)[1])
            miss = _request("GET", "/cache/default-cache?key=absent")
            _pipelined(port, [miss] * 3000, b"404")  # warm up, storing nothing
            before = _memory(server.pid, "VmRSS")
            topics = [_request("POST", f"/topics/default-cache/t{n}", b"m") for n in range(5000)]
            rings = [
                _request("POST", f"/topics/default-cache/ring{n % 2}", bytes(4096))
                for n in range(1200)  # two rings of 600 messages of 4 KiB: 4.8 MB
            ]
            items = [
                _request("PUT", f"/cache/default-cache?key=k{n}&ttl_seconds=600", b"v")
                for n in range(5000)
            ]
            for requests in (topics, rings, items):
                _pipelined(port, requests)
            grown = _memory(server.pid, "VmHWM") - before
            newest = _request("GET", "/cache/default-cache?key=k4999")
            _pipelined(port, [newest], b"200")  # the newest item is still there
        finally:
            server.terminate()
            server.wait(timeout=10)
    assert grown <= BUDGET + ALLOWANCE, f"grew {grown / 2**20:.1f} MiB"
