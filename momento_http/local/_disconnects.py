"""Disconnects: ends a held poll as soon as its client goes, from a task of the server's.

A held poll must end at once when its client disconnects (its place among a topic's
waiting polls is freed, and `wait_for_subscribers` counts it no more), and ASGI says so only
through `receive()`. A task waits on it; that task lives in a task group the server holds
open for its whole life, not in one of the request's own: leaving a request's task group
waits for the watch to be cancelled, two turns of the event loop between a publish and the
poll's answer. Once the answer is complete the server's `receive()` returns
`http.disconnect` by itself, and the watch ends without cancelling anything.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import anyio
import anyio.abc

from momento_http.local._http import Receive

__all__ = ["Disconnects"]

_log = logging.getLogger("momento_http.local")


class _Watch:
    __slots__ = ("_scope", "over")

    def __init__(self, scope: anyio.CancelScope) -> None:
        self._scope = scope
        self.over = False

    async def run(self, receive: Receive) -> None:
        try:
            while (await receive())["type"] != "http.disconnect":
                pass
        except Exception:  # a failed watch must not end the server's task group
            _log.exception("watching a held poll's connection failed")
            return
        if not self.over:  # the client left while the poll was held
            self._scope.cancel()


class Disconnects:
    """Cancels a held poll when its client disconnects."""

    def __init__(self) -> None:
        self._group: anyio.abc.TaskGroup | None = None

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """Hold the watches' task group open while the server serves; cancel the rest after."""
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield
            finally:
                self._group = None
                group.cancel_scope.cancel()

    @contextmanager
    def cancel_on_disconnect(self, receive: Receive) -> Iterator[anyio.CancelScope]:
        """Cancel the block if the client disconnects before it is left.

        Yields:
            The scope cancelled when the client goes: its `cancelled_caught` tells, after
            the block, whether the client went.

        Raises:
            RuntimeError: The server is not serving (its lifespan has not started).
        """
        group = self._group
        if group is None:
            raise RuntimeError("the local server's lifespan has not started")
        scope = anyio.CancelScope()
        watch = _Watch(scope)
        group.start_soon(watch.run, receive)
        with scope:
            try:
                yield scope
            finally:
                watch.over = True
