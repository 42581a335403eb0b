"""Your own httpx.AsyncClient: event hooks see every request the SDK sends.

Run it as it is: without MOMENTO_API_KEY it starts a local Momento server in process.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from momento_http import MomentoClient, MomentoTransport
from momento_http.local import LocalServer


class Metrics:
    """Counts answers by status and times each request, from httpx's event hooks."""

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


async def use(client: MomentoClient, cache: str) -> None:
    """A set, a hit and a miss."""
    await client.set(cache, "greeting", "hello", ttl=60)
    print("get ->", await client.get(cache, "greeting"))
    print("get ->", await client.get(cache, "nobody"))


async def main() -> None:
    """Send through a client of our own, with hooks, then show what they saw."""
    metrics = Metrics()
    hooks: dict[str, list[Callable[..., Any]]] = {
        "request": [metrics.on_request],
        "response": [metrics.on_response],
    }
    # MomentoTransport keeps the SDK's speed and gives each subscription its own
    # connection; any other transport works too (httpx's own, a proxy's).
    async with httpx.AsyncClient(transport=MomentoTransport(), event_hooks=hooks) as http:
        if os.environ.get("MOMENTO_API_KEY"):
            async with MomentoClient.from_env(http_client=http) as client:
                await use(client, os.environ.get("MOMENTO_CACHE_NAME", "default-cache"))
        else:
            async with (
                LocalServer(caches=["default-cache"]) as server,
                MomentoClient(server.api_key, base_url=server.base_url, http_client=http) as client,
            ):
                await use(client, "default-cache")
        # The SDK never closes a client it was given: `http` is still open here.
    print("answers by status:", dict(metrics.statuses))
    print("requests timed:", len(metrics.milliseconds))


if __name__ == "__main__":
    anyio.run(main)
