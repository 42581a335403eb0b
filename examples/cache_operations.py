"""Cache operations: set with a TTL, get, a miss, delete; text and binary data.

Run it as it is: it starts a local Momento server in process.
"""

from __future__ import annotations

from datetime import timedelta

import anyio

from momento_http import MomentoClient
from momento_http.local import LocalServer

CACHE = "default-cache"


async def store_and_read(client: MomentoClient) -> None:
    """Store, read and delete a few items, printing what comes back."""
    await client.set(CACHE, "greeting", "hello", ttl=60)  # str goes as UTF-8
    await client.set(CACHE, b"\x00raw", b"\xff\xfe", ttl=timedelta(minutes=5))
    await client.set(CACHE, "short-lived", b"soon gone", ttl=1)  # seconds

    print(await client.get(CACHE, "greeting"))  # b'hello': get returns bytes
    print(await client.get(CACHE, b"\x00raw"))  # b'\xff\xfe'

    await client.delete(CACHE, "greeting")
    if await client.get(CACHE, "greeting") is None:  # a miss: None, no error
        print("greeting: miss")

    # One slow call may get a timeout of its own (and no retries).
    print(await client.get(CACHE, "short-lived", timeout=0.5, retry=None))


async def main() -> None:
    """Start a local Momento server, and use a client of it."""
    # On Momento: `async with MomentoClient.from_env() as client:`
    async with (
        LocalServer(caches=[CACHE]) as server,
        MomentoClient(server.api_key, base_url=server.base_url) as client,
    ):
        await store_and_read(client)


if __name__ == "__main__":
    anyio.run(main)
