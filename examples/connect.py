"""Where the examples get a client: Momento when `MOMENTO_API_KEY` is set, else a local server.

Each example is an `async def main(client, cache)`; `run(main)` runs it as a script.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio

from momento_http import MomentoClient
from momento_http.local import LocalServer

Example = Callable[[MomentoClient, str], Awaitable[None]]


@asynccontextmanager
async def connect(cache: str) -> AsyncIterator[MomentoClient]:
    """Open a client on Momento (with `MOMENTO_API_KEY`) or on a local server in process.

    Args:
        cache: The cache the example uses; the local server creates it.

    Yields:
        The client, with a 60 s default TTL.
    """
    if os.environ.get("MOMENTO_API_KEY"):
        async with MomentoClient.from_env(default_ttl=60) as client:
            yield client
        return
    async with (
        LocalServer(caches=[cache]) as server,
        MomentoClient(server.api_key, base_url=server.base_url, default_ttl=60) as client,
    ):
        print(f"no MOMENTO_API_KEY: using a local Momento server at {server.base_url}")
        yield client


def run(example: Example) -> None:
    """Run an example on the cache `MOMENTO_CACHE_NAME` (default `default-cache`).

    Args:
        example: The example's `main`.
    """
    cache = os.environ.get("MOMENTO_CACHE_NAME", "default-cache")

    async def main() -> None:
        async with connect(cache) as client:
            await example(client, cache)

    anyio.run(main)
