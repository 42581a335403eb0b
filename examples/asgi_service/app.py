"""A FastAPI service on Momento: a cached read, a publish, a consumer.

`GET /menu/{day}` reads through the cache, `POST /orders` publishes the order,
a task started with the app cooks each order it hears, and `GET /kitchen`
lists the orders cooked. Momento's key and URL come from MOMENTO_API_KEY and
MOMENTO_BASE_URL, the cache's name from MENU_CACHE (default `menu`). Run it
with `uvicorn app:app`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from momento_http import (
    ClientClosedError,
    Discontinuity,
    MomentoClient,
    MomentoError,
    TopicItem,
)

log = logging.getLogger("menu")
MENUS = {"monday": "soup, bread, cheese", "tuesday": "fish, chips"}


class Database:
    """Stands in for your source of truth, and counts its queries."""

    def __init__(self) -> None:
        self.queries = 0

    async def menu(self, day: str) -> str:
        """The day's menu; a 404 for a day without one."""
        self.queries += 1
        if day not in MENUS:
            raise HTTPException(404, f"no menu on {day}")
        return MENUS[day]


class Kitchen:
    """Where the consumer's work shows: the orders cooked, in order."""

    def __init__(self) -> None:
        self.cooked: list[str] = []
        self._changed = anyio.Event()

    def cook(self, dish: str) -> None:
        """Cook one order, and wake those waiting for it."""
        self.cooked.append(dish)
        self._changed.set()
        self._changed = anyio.Event()

    async def wait_until_cooked(self, count: int) -> list[str]:
        """Return the orders cooked, once there are `count` of them."""
        while len(self.cooked) < count:
            await self._changed.wait()
        return self.cooked


@dataclass
class Service:
    """What the handlers share; the lifespan makes it."""

    momento: MomentoClient
    cache: str
    db: Database
    kitchen: Kitchen


async def cook_orders(service: Service) -> None:
    """Cook each order published, until the client closes at shutdown.

    Outages are ridden out by the subscription itself: when Momento is back,
    the orders published meanwhile come next.
    """
    client, kitchen = service.momento, service.kitchen
    try:
        async with client.subscribe(service.cache, "orders") as orders:
            async for event in orders:
                match event:
                    case TopicItem(value=str(dish)):
                        kitchen.cook(dish)
                    case Discontinuity():
                        log.warning("orders may be lost: %s", event)
    except ClientClosedError:
        pass  # the app stopped before this task began
    except MomentoError:  # a key refused, a cache missing: no retry fixes it
        log.exception("the kitchen takes no more orders")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open one client for the app, and start the consumer; then close both."""
    cache = os.environ.get("MENU_CACHE", "menu")
    async with (
        MomentoClient.from_env() as momento,
        anyio.create_task_group() as tasks,
    ):
        app.state.service = service = Service(
            momento, cache, Database(), Kitchen()
        )
        tasks.start_soon(cook_orders, service)
        yield
        await momento.aclose()  # ends the consumer's iteration


app = FastAPI(lifespan=lifespan)


async def running(request: Request) -> Service:
    """The service, for a handler: `service: Running` in its arguments."""
    service: Service = request.app.state.service
    return service


Running = Annotated[Service, Depends(running)]


@app.get("/menu/{day}")
async def menu(day: str, service: Running) -> dict[str, str]:
    """The day's menu: from the cache, or loaded once and cached for 5 min."""
    dishes = await service.momento.get_or_set(
        service.cache, f"menu:{day}", lambda: service.db.menu(day), ttl=300
    )
    return {"day": day, "dishes": dishes.decode()}


class Order(BaseModel):
    """An order, as clients post it."""

    dish: str


@app.post("/orders", status_code=202)
async def place_order(order: Order, service: Running) -> dict[str, str]:
    """Publish the order for the kitchen; it is cooked later."""
    await service.momento.publish(service.cache, "orders", order.dish)
    return {"status": "accepted"}


@app.get("/kitchen")
async def kitchen(service: Running) -> dict[str, list[str]]:
    """The orders the consumer has cooked so far."""
    return {"cooked": service.kitchen.cooked}


@app.exception_handler(MomentoError)
async def momento_unavailable(
    request: Request, error: MomentoError
) -> JSONResponse:
    """Momento failed after the client's retries: say so with a 503."""
    log.warning("%s %s: %s", request.method, request.url.path, error)
    return JSONResponse({"detail": "try again later"}, status_code=503)
