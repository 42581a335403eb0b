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
    first = await http.get("/menu/monday")
    again = await http.get("/menu/monday")
    assert first.json() == again.json() == {
        "day": "monday",
        "dishes": "soup, bread, cheese",
    }
    assert service.db.queries == 1
    cached = await momento_client.get(momento_cache, "menu:monday")
    assert cached == b"soup, bread, cheese"


async def test_a_day_without_a_menu_is_a_404_and_not_cached(
    http: httpx.AsyncClient,
    momento_client: MomentoClient,
    momento_cache: str,
) -> None:
    response = await http.get("/menu/sunday")
    assert response.status_code == 404
    assert await momento_client.get(momento_cache, "menu:sunday") is None


async def test_an_order_is_cooked(
    http: httpx.AsyncClient, service: Service
) -> None:
    response = await http.post("/orders", json={"dish": "soup"})
    assert response.status_code == 202
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
    await http.post("/orders", json={"dish": "soup"})  # to the poll held
    assert await cooked(service, 1) == ["soup"]
    await http.post("/orders", json={"dish": "bread"})  # after 3 failures
    assert await cooked(service, 2) == ["soup", "bread"]
    assert momento_faults.fault_hits == {"status 503": 3}


async def test_a_menu_is_a_503_while_momento_fails(
    http: httpx.AsyncClient,
    service: Service,
    momento_faults: LocalServer,
    momento_cache: str,
) -> None:
    momento_faults.inject_fault(
        Fault(503, request="item", cache=momento_cache, count=None)
    )
    response = await http.get("/menu/monday")
    assert response.status_code == 503
    assert response.json() == {"detail": "try again later"}
    assert service.db.queries == 0  # the read failed: nothing was loaded
