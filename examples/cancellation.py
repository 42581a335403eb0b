"""Cancellation: a subscription stops at once when its task is cancelled or times out."""

from __future__ import annotations

import time

import anyio
from connect import run

from momento_http import MomentoClient


async def main(client: MomentoClient, cache: str) -> None:
    """Wait for messages on a quiet topic for half a second, then give up."""
    started = time.perf_counter()
    async with client.subscribe(cache, "quiet-topic") as subscription:
        with anyio.move_on_after(0.5):  # or a task group's cancel_scope.cancel()
            async for event in subscription:
                print(event)
    # The poll in flight was abandoned and its connection closed: nothing is left running.
    print(f"gave up after {time.perf_counter() - started:.1f} s; closed: {subscription.closed}")


if __name__ == "__main__":
    run(main)
