"""Your own httpx.AsyncClient: event hooks see every request the SDK sends.

Run it as it is: it starts a local Momento server in process.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from momento_http import MomentoClient, MomentoTransport
from momento_http.local import LocalServer

CACHE = "default-cache"


class Metrics:
    """Counts answers by status and times requests, from httpx's event hooks."""

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.milliseconds: list[float] = []

    async def on_request(self, request: httpx.Request) -> None:
        """Note when the request leaves."""
        request.extensions["started"] = time.perf_counter()

    async def on_response(self, response: httpx.Response) -> None:
        """Count the answer, and how long it took to begin."""
        self.statuses[response.status_code] += 1
        started = response.request.extensions["started"]
        self.milliseconds.append((time.perf_counter() - started) * 1000)


async def use(client: MomentoClient) -> None:
    """A set, a hit and a miss."""
    await client.set(CACHE, "greeting", "hello", ttl=60)
    print("get ->", await client.get(CACHE, "greeting"))
    print("get ->", await client.get(CACHE, "nobody"))


async def main() -> None:
    """Send through a client of our own, with hooks, then show what they saw."""
    metrics = Metrics()
    hooks: dict[str, list[Callable[..., Any]]] = {
        "request": [metrics.on_request],
        "response": [metrics.on_response],
    }
    # MomentoTransport keeps the SDK's speed and gives each subscription its own
    # connection; any other transport works too (httpx's own, a proxy's).
    http = httpx.AsyncClient(transport=MomentoTransport(), event_hooks=hooks)
    async with http, LocalServer(caches=[CACHE]) as server:
        # On Momento: `MomentoClient.from_env(http_client=http)`
        key, url = server.api_key, server.base_url
        async with MomentoClient(key, base_url=url, http_client=http) as client:
            await use(client)
        # The SDK never closes a client it was given: `http` is open here.
    print("answers by status:", dict(metrics.statuses))
    print("requests timed:", len(metrics.milliseconds))


if __name__ == "__main__":
    anyio.run(main)
