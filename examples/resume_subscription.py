"""Topics: read from a position, save it, and resume without losing a message.

Run it as it is: it starts a local Momento server in process.
"""

from __future__ import annotations

import uuid

import anyio

from momento_http import Discontinuity, MomentoClient, Subscription, TopicItem
from momento_http.local import LocalServer

CACHE = "default-cache"


async def read_and_resume(client: MomentoClient) -> None:
    """Read two messages, stop, let two more come, resume where it stopped."""
    topic = f"orders-{uuid.uuid4().hex[:8]}"  # a new topic numbers from 1
    for text in ("order 1", "order 2"):
        await client.publish(CACHE, topic, text)

    # Without sequence_number a subscription starts with the next message
    # published; with it, there (what the topic no longer holds comes as a
    # Discontinuity).
    async with client.subscribe(CACHE, topic, sequence_number=1) as first:
        await print_until(first, "order 2")
        number, page = first.next_sequence_number, first.sequence_page
    print(f"stopped; saved position: sequence_number={number}")

    for text in ("order 3", "order 4"):  # published while nobody listens
        await client.publish(CACHE, topic, text)

    async with client.subscribe(
        CACHE, topic, sequence_number=number, sequence_page=page
    ) as again:
        await print_until(again, "order 4")


async def print_until(subscription: Subscription, last: str) -> None:
    """Print each event until the message `last`."""
    async for event in subscription:
        match event:
            case TopicItem(value=value, sequence_number=number):
                print(f"#{number}: {value!r}")
                if value == last:
                    return
            case Discontinuity(last_sequence_number=a, new_sequence_number=b):
                print(f"messages after #{a} are gone; going on from #{b}")


async def main() -> None:
    """Start a local Momento server, and use a client of it."""
    # On Momento: `async with MomentoClient.from_env() as client:`
    async with (
        LocalServer(caches=[CACHE]) as server,
        MomentoClient(server.api_key, base_url=server.base_url) as client,
    ):
        await read_and_resume(client)


if __name__ == "__main__":
    anyio.run(main)
