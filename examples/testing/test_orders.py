"""Tests of a small service that caches orders, with momento_http's fixtures."""

from collections.abc import Awaitable, Callable

import pytest

from momento_http import MomentoClient, ServerError, TopicItem
from momento_http.local import Fault, LocalServer

# pytest-asyncio; with anyio's pytest plugin: pytestmark = pytest.mark.anyio
pytestmark = pytest.mark.asyncio


class OrderCache:
    """The code under test: keeps order states in a Momento cache."""

    def __init__(self, client: MomentoClient) -> None:
        self.client = client

    async def mark_paid(self, order_id: str) -> None:
        """Record the order as paid, for an hour; announce it on "paid"."""
        await self.client.set("orders", order_id, "paid", ttl=3600)
        await self.client.publish("orders", "paid", order_id)

    async def state(self, order_id: str) -> str:
        """The order's state, "unknown" when it was never seen."""
        value = await self.client.get("orders", order_id)
        return "unknown" if value is None else value.decode()


async def test_paid_order_reads_as_paid(momento_client: MomentoClient) -> None:
    """The state written is the state read; an order never seen is unknown."""
    orders = OrderCache(momento_client)
    await orders.mark_paid("42")
    assert await orders.state("42") == "paid"
    assert await orders.state("43") == "unknown"


async def test_each_payment_is_announced_in_order(
    momento_client: MomentoClient,
    momento_wait_for_subscribers: Callable[[str, str], Awaitable[None]],
) -> None:
    """A listener on "paid" hears each later payment, in order."""
    orders = OrderCache(momento_client)
    async with momento_client.subscribe("orders", "paid") as paid:
        await momento_wait_for_subscribers("orders", "paid")  # the poll is held
        await orders.mark_paid("42")
        await orders.mark_paid("43")
        events = [await anext(paid), await anext(paid)]
    assert [e.value for e in events if isinstance(e, TopicItem)] == ["42", "43"]


async def test_an_outage_reaches_the_caller(
    momento_faults: LocalServer, momento_client: MomentoClient
) -> None:
    """When Momento keeps failing, the caller hears about it."""
    momento_faults.inject_fault(Fault(503, method="GET", count=None))
    with pytest.raises(ServerError):
        await OrderCache(momento_client).state("42")
