"""Cache operations: set with a TTL, get, miss, delete; text and binary keys and values."""

from __future__ import annotations

from datetime import timedelta

from connect import run

from momento_http import MomentoClient


async def main(client: MomentoClient, cache: str) -> None:
    """Store, read and delete a few items, printing what comes back."""
    await client.set(cache, "greeting", "hello")  # str values are stored as UTF-8
    await client.set(cache, b"\x00raw-key", b"\xff\xfe", ttl=timedelta(minutes=5))
    await client.set(cache, "short-lived", b"soon gone", ttl=1)  # seconds

    print(await client.get(cache, "greeting"))  # b'hello': get always returns bytes
    print(await client.get(cache, b"\x00raw-key"))  # b'\xff\xfe'

    await client.delete(cache, "greeting")
    if await client.get(cache, "greeting") is None:  # a miss is None, not an exception
        print("greeting: miss")

    # One slow call may get a timeout of its own (and no retries).
    print(await client.get(cache, "short-lived", timeout=0.5, retry=None))


if __name__ == "__main__":
    run(main)
