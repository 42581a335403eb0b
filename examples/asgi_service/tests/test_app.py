"""The service's tests: cache-aside, an order cooked, Momento failing."""

import anyio
import httpx
import pytest
from app import Service

from momento_http import MomentoClient
from momento_http.local import Fault, LocalServer

pytestmark = pytest.mark.asyncio


async def cooked(service: Service, count: int) -> list[str]:
    """The orders cooked, once there are `count` (10 s at most)."""
    with anyio.fail_after(10):
        return await service.kitchen.wait_until_cooked(count)


async def test_a_menu_is_loaded_once_then_read_from_the_cache(
    http: httpx.AsyncClient,
    service: Service,
    momento_client: MomentoClient,
    momento_cache: str,
) -> None:
    """The first read loads and caches the menu; the second finds it."""
    first = await http.get("/menu/monday")
    again = await http.get("/menu/monday")
    menu = {"day": "monday", "dishes": "soup, bread, cheese"}
    assert first.json() == again.json() == menu
    assert service.db.queries == 1
    cached = await momento_client.get(momento_cache, "menu:monday")
    assert cached == b"soup, bread, cheese"


async def test_a_day_without_a_menu_is_a_404_and_not_cached(
    http: httpx.AsyncClient,
    momento_client: MomentoClient,
    momento_cache: str,
) -> None:
    """What the load raises is the answer, and nothing is stored."""
    response = await http.get("/menu/sunday")
    assert response.status_code == httpx.codes.NOT_FOUND
    assert await momento_client.get(momento_cache, "menu:sunday") is None


async def test_an_order_is_cooked(
    http: httpx.AsyncClient, service: Service
) -> None:
    """An order posted is published, heard by the consumer, and cooked."""
    response = await http.post("/orders", json={"dish": "soup"})
    assert response.status_code == httpx.codes.ACCEPTED
    assert await cooked(service, 1) == ["soup"]
    kitchen = await http.get("/kitchen")
    assert kitchen.json() == {"cooked": ["soup"]}


async def test_orders_are_cooked_through_an_outage(
    http: httpx.AsyncClient,
    service: Service,
    momento_faults: LocalServer,
    momento_cache: str,
) -> None:
    """The consumer's next three polls fail; it polls on, and hears the next."""
    momento_faults.inject_fault(
        Fault(503, request="poll", cache=momento_cache, count=3)
    )
    await http.post("/orders", json={"dish": "soup"})  # to the poll held now
    assert await cooked(service, 1) == ["soup"]
    await http.post("/orders", json={"dish": "bread"})  # heard past them
    assert await cooked(service, 2) == ["soup", "bread"]
    assert momento_faults.fault_hits == {"status 503": 3}


async def test_a_menu_is_a_503_while_momento_fails(
    http: httpx.AsyncClient,
    service: Service,
    momento_faults: LocalServer,
    momento_cache: str,
) -> None:
    """Momento failing past the client's retries is the service's 503."""
    momento_faults.inject_fault(
        Fault(503, request="item", cache=momento_cache, count=None)
    )
    response = await http.get("/menu/monday")
    assert response.status_code == httpx.codes.SERVICE_UNAVAILABLE
    assert response.json() == {"detail": "try again later"}
    assert service.db.queries == 0  # the read failed: nothing was loaded
