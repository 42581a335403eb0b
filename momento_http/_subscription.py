"""Subscription: the long-poll loop, the cursor, and resuming after failures.

The subscription pulls: a poll is sent only while a caller awaits the next event, so no
task runs in the background, and breaking out of `async for` leaves nothing in flight.
The cursor moves only as events are handed to the caller, so the position it reports is
always just after the last event yielded, whatever is still buffered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Protocol

import anyio

from momento_http._errors import ClientClosedError
from momento_http._models import Discontinuity, Heartbeat, TopicEvent, TopicItem

__all__ = ["Poller", "Subscription"]


class Poller(Protocol):
    """Where a subscription sends its polls."""

    async def poll(self, query: dict[str, str]) -> list[TopicEvent]:
        """Send one poll, riding out transient failures; no events when none came in time."""

    async def aclose(self) -> None:
        """Release the connection."""


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
        self._on_end = on_end
        self._released = False
        self._next = sequence_number
        self._page = sequence_page
        self._heartbeats = heartbeats
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
        return self._next

    @property
    def sequence_page(self) -> int | None:
        """The page of the last message yielded, or None while it is unknown."""
        return self._page

    @property
    def closed(self) -> bool:
        """Whether the subscription has ended."""
        return self._closed

    def __repr__(self) -> str:
        return (
            f"Subscription(next_sequence_number={self._next}, sequence_page={self._page}, "
            f"closed={self._closed})"
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
                    return self._advance(self._ready.pop(0))
                if self._next_received < len(self._received):
                    self._ready = self._check(self._received[self._next_received])
                    self._next_received += 1
                    continue
                await self._fetch()
        finally:
            self._iterating = False
            if self._closed:
                await self._release()

    def _check(self, event: TopicEvent) -> list[TopicEvent]:
        """What the caller should see of one received event, given the cursor."""
        if isinstance(event, Heartbeat):
            return [event] if self._heartbeats else []
        if isinstance(event, Discontinuity):
            page = event.new_sequence_page or self._page
            stale = (
                page == self._page and self._next > 0 and event.new_sequence_number <= self._next
            )
            # A stale notice announces nothing this subscription has not already passed.
            return [] if stale else [replace(event, new_sequence_page=page)]
        return self._check_item(event)

    def _check_item(self, event: TopicItem) -> list[TopicEvent]:
        page = event.sequence_page or self._page
        item = event if event.sequence_page == page else replace(event, sequence_page=page)
        if self._next == 0:  # no cursor yet: the first message sets it
            return [item]
        new_page = self._page is not None and page != self._page
        if not new_page and event.sequence_number < self._next:
            return []  # seen already: the server repeated it
        if new_page or event.sequence_number > self._next:
            return [Discontinuity(self._next - 1, event.sequence_number, page), item]
        return [item]

    def _advance(self, event: TopicEvent) -> TopicEvent:
        """Move the cursor past an event as it is handed to the caller."""
        if isinstance(event, TopicItem):
            self._next, self._page = event.sequence_number + 1, event.sequence_page
        elif isinstance(event, Discontinuity):
            self._next, self._page = event.new_sequence_number, event.new_sequence_page
        return event

    def _query(self) -> dict[str, str]:
        # With no cursor the parameter is left out, as the reference page's first poll does:
        # a server numbering from 0 could read "sequence_number=0" as "from message 0".
        query = {"sequence_number": str(self._next)} if self._next else {}
        if self._page is not None:
            query["sequence_page"] = str(self._page)
        return query

    async def _fetch(self) -> None:
        """Poll until something arrives, or until closed; the poller retries failures."""
        with anyio.CancelScope() as scope:
            self._in_flight = scope
            try:
                while not self._closed:
                    events = await self._poller.poll(self._query())
                    if events:
                        self._received, self._next_received = events, 0
                        return
            finally:
                self._in_flight = None
