"""Cancellation: a subscription stops at once when its task is cancelled.

Run it as it is: it starts a local Momento server in process.
"""

from __future__ import annotations

import time

import anyio

from momento_http import MomentoClient
from momento_http.local import LocalServer

CACHE = "default-cache"


async def wait_briefly(client: MomentoClient) -> None:
    """Wait for messages on a quiet topic for half a second, then give up."""
    started = time.perf_counter()
    async with client.subscribe(CACHE, "quiet-topic") as subscription:
        with anyio.move_on_after(0.5):  # or a task group's cancel_scope
            async for event in subscription:
                print(event)
    # The poll in flight was abandoned, its connection closed: nothing is left.
    waited = time.perf_counter() - started
    print(f"gave up after {waited:.1f} s; closed: {subscription.closed}")


async def main() -> None:
    """Start a local Momento server, and use a client of it."""
    # On Momento: `async with MomentoClient.from_env() as client:`
    async with (
        LocalServer(caches=[CACHE]) as server,
        MomentoClient(server.api_key, base_url=server.base_url) as client,
    ):
        await wait_briefly(client)


if __name__ == "__main__":
    anyio.run(main)
