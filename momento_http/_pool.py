"""Pool: connections to share under a limit, and the queue of requests waiting for one."""

from __future__ import annotations

import anyio
import httpx

from momento_http._connection import Connection
from momento_http._guard import Guard
from momento_http._ticket import Ticket

__all__ = ["Pool"]


class Pool:
    """Connections to share under a limit: an idle stack, a count, a queue of waiters."""

    __slots__ = ("active", "closed", "idle", "max_connections", "max_idle", "waiters")

    def __init__(self, max_connections: int, max_idle: int) -> None:
        self.max_connections = max_connections
        self.max_idle = max_idle
        self.idle: list[Connection] = []
        self.active = 0
        self.waiters: list[anyio.Event] = []
        self.closed = False

    async def reserve(self, pool_timeout: float | None, ticket: Ticket | None) -> None:
        """Wait for room under the connection limit, first come first served."""
        if self.active < self.max_connections and not self.waiters:
            self.active += 1  # the usual case: no deadline to set up
            return
        doing = "waiting for a free connection"
        with Guard(pool_timeout, httpx.PoolTimeout, httpx.PoolTimeout, doing, ticket):
            while self.active >= self.max_connections:
                waiter = anyio.Event()
                self.waiters.append(waiter)
                try:
                    await waiter.wait()
                except BaseException:
                    if waiter.is_set():  # woken, but leaving: pass the turn on
                        self.wake_one()
                    else:
                        self.waiters.remove(waiter)
                    raise
        self.active += 1

    def unreserve(self) -> None:
        self.active -= 1
        self.wake_one()

    def wake_one(self) -> None:
        if self.waiters:
            self.waiters.pop(0).set()

    async def aclose(self) -> None:
        """Close the idle connections; busy ones close when their response does."""
        self.closed = True
        idle, self.idle = self.idle, []
        for connection in idle:
            await connection.aclose()
