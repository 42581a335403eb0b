"""Topics: a consumer needs no resubscribe loop, and ends with its client.

Run it as it is: it starts a local Momento server in process.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio

from momento_http import (
    ClientClosedError,
    MomentoClient,
    MomentoError,
    TopicEvent,
    TopicItem,
)
from momento_http.local import LocalServer

CACHE = "default-cache"
log = logging.getLogger("orders")
Handler = Callable[[TopicEvent], Awaitable[None]]


async def consume(client: MomentoClient, handle: Handler) -> None:
    """Handle each event until the client closes; outages are ridden out."""
    async with client.subscribe(CACHE, "orders") as subscription:
        async for event in subscription:
            try:
                await handle(event)
            except MomentoError as error:  # the calls handle makes
                log.warning("could not handle %r: %s", event, error)
    # Here once the client was closed: the service is shutting down.


async def consume_until_closed(client: MomentoClient, handle: Handler) -> None:
    """The same, subscribing again after what the SDK does not retry."""
    number, page = None, None
    while True:
        try:
            async with client.subscribe(
                CACHE, "orders", sequence_number=number, sequence_page=page
            ) as subscription:
                async for event in subscription:
                    await handle(event)
                    number = subscription.next_sequence_number
                    page = subscription.sequence_page
        except ClientClosedError:
            return  # the client was closed before this loop came round
        except MomentoError as error:
            log.warning("subscription ended: %s; again in 10 s", error)
            await anyio.sleep(10)
        else:
            return  # the subscription or the client was closed


async def main() -> None:
    """Start a local Momento server; run both consumers; close the client."""
    consumers = (consume, consume_until_closed)
    handled: list[TopicEvent] = []
    all_handled = anyio.Event()

    async def handle(event: TopicEvent) -> None:  # your work, for each event
        if isinstance(event, TopicItem):
            print(f"handled {event.value!r}")
        handled.append(event)
        if len(handled) == len(consumers):
            all_handled.set()

    async with LocalServer(caches=[CACHE]) as server:
        client = MomentoClient(server.api_key, base_url=server.base_url)
        async with client, anyio.create_task_group() as group:
            for consumer in consumers:
                group.start_soon(consumer, client, handle)
            await server.wait_for_subscribers(CACHE, "orders", len(consumers))
            await client.publish(CACHE, "orders", "order 1")
            await all_handled.wait()
            await client.aclose()  # the service shuts down: both consumers end
        print("both consumers ended with the client")


if __name__ == "__main__":
    anyio.run(main)
