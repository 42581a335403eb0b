"""Topics: read from a position, save where you stopped, and resume without losing a message."""

from __future__ import annotations

import uuid

from connect import run

from momento_http import Discontinuity, MomentoClient, Subscription, TopicItem


async def main(client: MomentoClient, cache: str) -> None:
    """Read two messages, stop, let two more arrive, then resume from the saved position."""
    topic = f"orders-{uuid.uuid4().hex[:8]}"  # a fresh topic numbers its messages from 1
    for text in ("order 1", "order 2"):
        await client.publish(cache, topic, text)

    # Without sequence_number a subscription starts with the next message published;
    # with it, it starts there (older messages the topic no longer holds: a Discontinuity).
    async with client.subscribe(cache, topic, sequence_number=1) as subscription:
        await print_until(subscription, "order 2")
        saved = (subscription.next_sequence_number, subscription.sequence_page)
    print(f"stopped; saved position: sequence_number={saved[0]}")

    for text in ("order 3", "order 4"):  # published while nobody listens
        await client.publish(cache, topic, text)

    number, page = saved
    async with client.subscribe(cache, topic, sequence_number=number, sequence_page=page) as again:
        await print_until(again, "order 4")


async def print_until(subscription: Subscription, last: str) -> None:
    """Print each event until the message `last`."""
    async for event in subscription:
        match event:
            case TopicItem(value=value, sequence_number=number):
                print(f"#{number}: {value!r}")
                if value == last:
                    return
            case Discontinuity(last_sequence_number=before, new_sequence_number=after):
                print(f"messages after #{before} are gone; going on from #{after}")


if __name__ == "__main__":
    run(main)
