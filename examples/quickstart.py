"""Quickstart: set, get, delete, miss, then publish and subscribe, one line per step.

With `MOMENTO_API_KEY` set it runs against Momento (cache from `MOMENTO_CACHE_NAME`, default
`default-cache`); without it, against a local Momento server started in this process.
"""

from __future__ import annotations

import anyio
from connect import run

from momento_http import Discontinuity, MomentoClient, Subscription, TopicItem

TOPIC = "news"


async def main(client: MomentoClient, cache: str) -> None:
    """Run each step and print what it did."""
    print(f"client  -> {client.base_url}, cache {cache!r}")
    await client.set(cache, "greeting", "hello, momento")
    print("set     greeting = 'hello, momento' (ttl 60 s)")
    value = await client.get(cache, "greeting")
    print(f"get     greeting -> {value!r}")
    await client.delete(cache, "greeting")
    print("delete  greeting")
    value = await client.get(cache, "greeting")
    print(f"get     greeting -> {value!r} (a miss)")

    # Entering sends the subscription's first poll: it starts with what is published next.
    async with client.subscribe(cache, TOPIC) as subscription, anyio.create_task_group() as tg:
        tg.start_soon(listen, subscription)
        for text in ("hello, subscribers", "how are you?", "goodbye"):
            await publish(client, cache, text)
    print(
        f"resume  from sequence_number={subscription.next_sequence_number}, "
        f"sequence_page={subscription.sequence_page}"
    )


async def publish(client: MomentoClient, cache: str, text: str) -> None:
    """Publish one text message and say so."""
    await client.publish(cache, TOPIC, text)
    print(f"publish {TOPIC} <- {text!r}")


async def listen(subscription: Subscription) -> None:
    """Print what the subscription yields until the goodbye."""
    async for event in subscription:
        match event:
            case TopicItem(value=value, sequence_number=number):
                print(f"receive {TOPIC} #{number} -> {value!r}")
                if value == "goodbye":
                    return
            case Discontinuity(last_sequence_number=last, new_sequence_number=new):
                print(f"missed  {TOPIC} messages after #{last}, resuming at #{new}")


if __name__ == "__main__":
    run(main)
