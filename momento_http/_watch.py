"""DeadlineWatch: wakes waits whose time is up, with one timer per tick, not one per wait.

A timer per request costs ~2.5 µs to schedule and cancel (a handle and two heap moves in
asyncio's loop), a fiftieth of a request. Here a wait files itself under the tick at or
after its deadline (a dictionary entry, ~0.15 µs) and takes itself out when done; one timer
per tick in use wakes what is left. A deadline is kept to within a tick: 50 ms.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Final

__all__ = ["TICK", "DeadlineWatch", "watch_for"]

TICK: Final = 0.05
"""Seconds between the times a deadline can be noticed."""

_Waiter = asyncio.Future[None]


class DeadlineWatch:
    """The waits of one event loop that have a deadline.

    Args:
        loop: The event loop.
    """

    __slots__ = ("__weakref__", "_loop", "_ticks")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._ticks: dict[int, dict[_Waiter, Callable[[], None]]] = {}

    def add(self, when: float, waiter: _Waiter, expire: Callable[[], None]) -> int:
        """Call `expire` if `waiter` is still pending once the loop's clock passes `when`.

        Args:
            when: The deadline, on the loop's clock.
            waiter: The future being waited on.
            expire: What to do at the deadline (set the waiter's exception, say).

        Returns:
            The tick it is filed under, to take it out with `remove`.
        """
        tick = int(when / TICK) + 1
        waiters = self._ticks.get(tick)
        if waiters is None:
            waiters = self._ticks[tick] = {}
            self._loop.call_at(tick * TICK, self._fire, tick)
        waiters[waiter] = expire
        return tick

    def remove(self, tick: int, waiter: _Waiter) -> None:
        """Forget a wait that ended before its deadline."""
        waiters = self._ticks.get(tick)
        if waiters is not None:
            waiters.pop(waiter, None)

    def _fire(self, tick: int) -> None:
        for waiter, expire in self._ticks.pop(tick, {}).items():
            if not waiter.done():
                expire()


_WATCHES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, DeadlineWatch] = (
    weakref.WeakKeyDictionary()
)


def watch_for(loop: asyncio.AbstractEventLoop) -> DeadlineWatch:
    """The watch of an event loop, made on first use and gone with the loop."""
    watch = _WATCHES.get(loop)
    if watch is None:
        watch = _WATCHES[loop] = DeadlineWatch(loop)
    return watch
