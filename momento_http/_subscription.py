"""Subscription: the long-poll loop, the cursor, and resuming after failures.

The subscription pulls: a poll is sent only while a caller awaits the next event, so no
task runs in the background, and breaking out of `async for` leaves nothing in flight.
The cursor (`Cursor`) moves only as events are handed to the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol

import anyio

from momento_http._cursor import Cursor
from momento_http._errors import ClientClosedError
from momento_http._models import TopicEvent
from momento_http._subscription_stats import SubscriptionStats

__all__ = ["Poller", "Subscription"]


class Poller(Protocol):
    """Where a subscription sends its polls."""

    async def poll(self, query: dict[str, str]) -> list[TopicEvent]:
        """Send one poll, riding out transient failures; no events when none came in time."""

    async def aclose(self) -> None:
        """Release the connection."""

    @property
    def stats(self) -> SubscriptionStats:
        """The counts of polls, failures and resumes so far."""


class Subscription:
    """An open subscription to a topic: an async iterator of `TopicEvent`.

    Use it as an async context manager and iterate it:

        async with client.subscribe("cache", "topic") as subscription:
            async for event in subscription:
                ...

    Transient failures (connection errors, timeouts, 5xx, 429, malformed answers) are
    retried from the cursor with backoff, unseen by the caller, until
    `retry.max_poll_failures` fail in a row; errors that retrying cannot fix (400, 401,
    403, 404, and other statuses) are raised at once. The same (page, sequence number)
    is never yielded twice, and a gap in the numbers is always announced by a
    `Discontinuity`.

    Create one with `MomentoClient.subscribe`.
    """

    def __init__(
        self,
        poller: Poller,
        *,
        sequence_number: int,
        sequence_page: int | None,
        heartbeats: bool,
        on_end: Callable[[Subscription], None],
    ) -> None:
        self._poller = poller
        self._cursor = Cursor(sequence_number, sequence_page, heartbeats=heartbeats)
        self._on_end = on_end
        self._released = False
        # Lists, not deques: an empty deque takes ~600 bytes, a thousand subscriptions 1.2 MB.
        self._received: list[TopicEvent] = []  # the last poll's events, read from _next_received
        self._next_received = 0
        self._ready: list[TopicEvent] = []  # one event checked against the cursor: up to two
        self._closed = False
        self._closed_by_client = False
        self._in_flight: anyio.CancelScope | None = None
        self._iterating = False

    @property
    def next_sequence_number(self) -> int:
        """The number to resume from: one past the last message yielded (0: the next one)."""
        return self._cursor.next

    @property
    def sequence_page(self) -> int | None:
        """The page of the last message yielded, or None while it is unknown."""
        return self._cursor.page

    @property
    def closed(self) -> bool:
        """Whether the subscription has ended."""
        return self._closed

    @property
    def stats(self) -> SubscriptionStats:
        """How its polls went so far: polls, failures, resumes, the last error's type."""
        return self._poller.stats

    def __repr__(self) -> str:
        return (
            f"Subscription(next_sequence_number={self._cursor.next}, "
            f"sequence_page={self._cursor.page}, closed={self._closed})"
        )

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """End the subscription, cutting off a poll in flight at once. Safe to repeat."""
        await self._end()

    async def _end(self, *, by_client: bool = False) -> None:
        """Close; the connection goes now, or when the task inside `__anext__` leaves it."""
        self._closed = True
        self._closed_by_client = self._closed_by_client or by_client
        if self._in_flight is not None:
            self._in_flight.cancel()
        if not self._iterating:
            await self._release()

    async def _release(self) -> None:
        if self._released:
            return
        self._released = True
        self._on_end(self)
        with anyio.CancelScope(shield=True):
            await self._poller.aclose()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> TopicEvent:
        if self._iterating:
            raise RuntimeError("another task is already waiting on this subscription")
        self._iterating = True
        try:
            while True:
                if self._closed_by_client:
                    raise ClientClosedError("the client of this subscription was closed")
                if self._closed:
                    raise StopAsyncIteration
                if self._ready:
                    return self._cursor.advance(self._ready.pop(0))
                if self._next_received < len(self._received):
                    self._ready = self._cursor.check(self._received[self._next_received])
                    self._next_received += 1
                    continue
                await self._fetch()
        finally:
            self._iterating = False
            if self._closed:
                await self._release()

    async def _fetch(self) -> None:
        """Poll until something arrives, or until closed; the poller retries failures."""
        with anyio.CancelScope() as scope:
            self._in_flight = scope
            try:
                while not self._closed:
                    events = await self._poller.poll(self._cursor.query())
                    if events:
                        self._received, self._next_received = events, 0
                        return
            finally:
                self._in_flight = None
