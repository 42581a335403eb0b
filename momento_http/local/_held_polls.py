"""Waiting, from any thread and any event loop, until a topic has enough polls held."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["WAIT_STEP", "HeldPollsWait"]

WAIT_STEP = 0.005
"""How often a wait looks at the count, in seconds.

The count changes on the server's own thread and event loop, which cannot set an event of
the caller's loop (asyncio, trio, or none), so the caller looks every few milliseconds.
"""


class HeldPollsWait:
    """A wait for `count` held polls of a topic, which gives up after `timeout` seconds.

    Args:
        held: Gives how many polls of the topic are held now; callable from any thread.
        cache: The cache the topic is in.
        topic: The topic.
        count: How many held polls to wait for.
        timeout: Seconds to wait at most.
    """

    def __init__(
        self, held: Callable[[], int], cache: str, topic: str, count: int, timeout: float
    ) -> None:
        self._held = held
        self._what = (cache, topic, count, timeout)
        self._deadline = time.monotonic() + timeout

    def done(self) -> bool:
        """Whether enough polls are held now.

        Raises:
            TimeoutError: Too few are held, and the time is up.
        """
        held = self._held()
        cache, topic, count, timeout = self._what
        if held >= count:
            return True
        if time.monotonic() >= self._deadline:
            raise TimeoutError(
                f"the local server holds {held} poll(s) of topic {topic!r} in cache "
                f"{cache!r}, not the {count} awaited, after {timeout:g} s"
            )
        return False
