"""Quickstart: set, get, delete, a miss, then publish and subscribe.

With MOMENTO_API_KEY set it runs against Momento, on the cache
MOMENTO_CACHE_NAME (default `default-cache`); without it, on a local Momento
server in process.
"""

from __future__ import annotations

import os

import anyio

from momento_http import Discontinuity, MomentoClient, Subscription, TopicItem
from momento_http.local import LocalServer

TOPIC = "news"


async def tour(
    client: MomentoClient, cache: str, local: LocalServer | None
) -> None:
    """Run each step and print what it did."""
    print(f"client  -> {client.base_url}, cache {cache!r}")
    await client.set(cache, "greeting", "hello, momento", ttl=60)
    print("set     greeting = 'hello, momento' (ttl 60 s)")
    value = await client.get(cache, "greeting")
    print(f"get     greeting -> {value!r}")
    await client.delete(cache, "greeting")
    print("delete  greeting")
    value = await client.get(cache, "greeting")
    print(f"get     greeting -> {value!r} (a miss)")

    # Entering sends the first poll: it starts with the next message published.
    async with (
        client.subscribe(cache, TOPIC) as subscription,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(listen, subscription)
        # A local server says when it holds the poll: then no message is missed.
        if local:
            await local.wait_for_subscribers(cache, TOPIC)
        for text in ("hello, subscribers", "how are you?", "goodbye"):
            # Printed first: the subscriber may hear it before publish returns.
            print(f"publish {TOPIC} <- {text!r}")
            await client.publish(cache, TOPIC, text)
    print(
        f"resume  from sequence_number={subscription.next_sequence_number}, "
        f"sequence_page={subscription.sequence_page}"
    )


async def listen(subscription: Subscription) -> None:
    """Print what the subscription yields until the goodbye (10 s at most)."""
    with anyio.move_on_after(10):
        async for event in subscription:
            match event:
                case TopicItem(value=value, sequence_number=number):
                    print(f"receive {TOPIC} #{number} -> {value!r}")
                    if value == "goodbye":
                        return
                case Discontinuity(
                    last_sequence_number=a, new_sequence_number=b
                ):
                    print(f"missed  {TOPIC} after #{a}, resuming at #{b}")


async def main() -> None:
    """Take the tour on Momento with MOMENTO_API_KEY, else on a local server."""
    cache = os.environ.get("MOMENTO_CACHE_NAME", "default-cache")
    if os.environ.get("MOMENTO_API_KEY"):
        async with MomentoClient.from_env() as client:
            await tour(client, cache, local=None)
        return
    async with LocalServer(caches=[cache]) as server:
        print(
            f"no MOMENTO_API_KEY: a local Momento server at {server.base_url}"
        )
        key, url = server.api_key, server.base_url
        async with MomentoClient(key, base_url=url) as client:
            await tour(client, cache, local=server)


if __name__ == "__main__":
    anyio.run(main)
