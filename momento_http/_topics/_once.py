"""Once: an event that is set once, at a fraction of `anyio.Event`'s memory on asyncio.

`anyio.Event` on asyncio holds an `asyncio.Event`, which holds a deque: about 800 bytes,
and every waiting subscription keeps one (its first poll's end) for as long as it waits.
Here a waiter on asyncio awaits a bare future, made only while it waits; elsewhere (trio)
each waiter gets an `anyio.Event` of its own.
"""

from __future__ import annotations

import asyncio

import anyio

__all__ = ["Once"]


class Once:
    """Set once; any number of tasks may wait for it, each cancellable on its own."""

    __slots__ = ("_is_set", "_waiters")

    def __init__(self) -> None:
        self._is_set = False
        self._waiters: list[asyncio.Future[None] | anyio.Event] = []

    def is_set(self) -> bool:
        """Whether `set` was called."""
        return self._is_set

    def set(self) -> None:
        """Wake every waiter, now and later."""
        self._is_set = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if isinstance(waiter, anyio.Event):
                waiter.set()
            elif not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        """Return once set (at once if it is)."""
        if self._is_set:
            return
        waiter: asyncio.Future[None] | anyio.Event
        try:
            waiter = asyncio.get_running_loop().create_future()
        except RuntimeError:  # not asyncio: trio, through anyio
            waiter = anyio.Event()
        self._waiters.append(waiter)
        try:
            await (waiter.wait() if isinstance(waiter, anyio.Event) else waiter)
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
