"""Pool: connections to share under a limit, and the queue of requests waiting for one."""

from __future__ import annotations

import anyio
import httpx

from momento_http._transport._connection import Connection
from momento_http._transport._exceptions import Operation
from momento_http._transport._proxy import Origin
from momento_http._transport._state import RequestState

__all__ = ["Pool"]


class Pool:
    """Connections to share under a limit: idle ones by origin, a count, a queue of waiters.

    First come, first served: a slot given up while requests wait is handed to the first
    of them directly, so a request arriving in the meantime cannot take it. An idle
    connection serves only requests to its own origin (scheme, host and port).

    Args:
        max_connections: The most connections in use or being opened at once.
        max_idle: The most idle connections kept for reuse.

    Attributes:
        max_idle: The most idle connections kept for reuse.
        closed: Set by `aclose`: nothing is kept for reuse from then on.
    """

    __slots__ = (
        "_active",
        "_idle",
        "_idle_count",
        "_max_connections",
        "_waiters",
        "closed",
        "max_idle",
    )

    def __init__(self, max_connections: int, max_idle: int) -> None:
        self._max_connections = max_connections
        self.max_idle = max_idle
        self._idle: dict[Origin, list[Connection]] = {}
        self._idle_count = 0
        self._active = 0
        self._waiters: list[anyio.Event] = []
        self.closed = False

    async def reserve(self, pool_timeout: float | None, state: RequestState | None) -> None:
        """Take a slot under the connection limit, waiting in line if there is none.

        Raises:
            httpx.PoolTimeout: No slot came in time.
        """
        if self._active < self._max_connections and not self._waiters:
            self._active += 1  # the usual case: no deadline to set up
            return
        waiter = anyio.Event()
        self._waiters.append(waiter)
        doing = "waiting for a free connection"
        try:
            with Operation(pool_timeout, httpx.PoolTimeout, httpx.PoolTimeout, doing, state):
                await waiter.wait()
        except BaseException:
            if waiter.is_set():  # handed a slot, but leaving: hand it on
                self.unreserve()
            else:
                self._waiters.remove(waiter)
            raise

    def unreserve(self) -> None:
        """Give a slot up: to the first request in line, if any."""
        if self._waiters:
            self._waiters.pop(0).set()  # the slot passes on: the count stays
        else:
            self._active -= 1

    def take_idle(self, origin: Origin) -> Connection | None:
        """The idle connection to `origin` used last, taken out of the pool; or None."""
        idle = self._idle.get(origin)
        if not idle:
            return None
        self._idle_count -= 1
        return idle.pop()

    def keep_idle(self, connection: Connection) -> bool:
        """Keep a connection for reuse, if the pool is open and has room; True if kept."""
        if self.closed or self._idle_count >= self.max_idle:
            return False
        self._idle.setdefault(connection.origin, []).append(connection)
        self._idle_count += 1
        return True

    async def aclose(self) -> None:
        """Close the idle connections; busy ones close when their response does."""
        self.closed = True
        idle, self._idle, self._idle_count = self._idle, {}, 0
        for connections in idle.values():
            for connection in connections:
                await connection.aclose()
