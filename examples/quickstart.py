"""Quickstart: set, get, delete, miss, and publish, one line per step.

With `MOMENTO_API_KEY` set it runs against Momento (cache from `MOMENTO_CACHE_NAME`, default
`default-cache`); without it, against a local Momento server started in this process.
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack

import anyio

from momento_http import MomentoClient
from momento_http.local import LocalServer


async def main() -> None:
    """Run each step and print what it did."""
    cache = os.environ.get("MOMENTO_CACHE_NAME", "default-cache")
    async with AsyncExitStack() as stack:
        if os.environ.get("MOMENTO_API_KEY"):
            client = MomentoClient.from_env(default_ttl=60)
        else:
            server = await stack.enter_async_context(LocalServer(caches=[cache]))
            print(f"no MOMENTO_API_KEY: using a local Momento server at {server.base_url}")
            client = MomentoClient(server.api_key, base_url=server.base_url, default_ttl=60)
        await stack.enter_async_context(client)
        print(f"client  -> {client.base_url}, cache {cache!r}")

        await client.set(cache, "greeting", "hello, momento")
        print("set     greeting = 'hello, momento' (ttl 60 s)")
        value = await client.get(cache, "greeting")
        print(f"get     greeting -> {value!r}")
        await client.delete(cache, "greeting")
        print("delete  greeting")
        value = await client.get(cache, "greeting")
        print(f"get     greeting -> {value!r} (a miss)")
        await client.publish(cache, "news", "hello, subscribers")
        print("publish news <- 'hello, subscribers'")


if __name__ == "__main__":
    anyio.run(main)
