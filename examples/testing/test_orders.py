"""Tests of a small service that caches orders, with momento_http's fixtures."""

import pytest

from momento_http import MomentoClient, ServerError
from momento_http.local import Fault, LocalServer

pytestmark = pytest.mark.asyncio  # pytest-asyncio; with anyio's plugin: pytest.mark.anyio


class OrderCache:
    """The code under test: keeps order states in a Momento cache."""

    def __init__(self, client: MomentoClient) -> None:
        self.client = client

    async def mark_paid(self, order_id: str) -> None:
        """Record that the order is paid, for an hour."""
        await self.client.set("orders", order_id, "paid", ttl=3600)

    async def state(self, order_id: str) -> str:
        """The order's state, "unknown" when it was never seen."""
        value = await self.client.get("orders", order_id)
        return "unknown" if value is None else value.decode()


async def test_a_paid_order_reads_back_as_paid(momento_client: MomentoClient) -> None:
    """The state written is the state read; an order never seen is unknown."""
    orders = OrderCache(momento_client)
    await orders.mark_paid("42")
    assert await orders.state("42") == "paid"
    assert await orders.state("43") == "unknown"


async def test_an_outage_reaches_the_caller(
    momento_faults: LocalServer, momento_client: MomentoClient
) -> None:
    """When Momento keeps failing, the caller hears about it."""
    momento_faults.inject_fault(Fault(503, method="GET", count=None))
    with pytest.raises(ServerError):
        await OrderCache(momento_client).state("42")
