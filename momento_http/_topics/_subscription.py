"""Subscription: the long-poll loop, its start, and resuming after failures.

The subscription pulls: after its first poll, a poll is sent only while a caller awaits the
next event. The first poll is sent as `async with` enters, so that the subscription starts
as early as the HTTP API allows, in a task of the subscription's own that leaving the block
cancels and waits for, so no task outlives it. The cursor (`Cursor`) moves only as events
are handed to the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType

import anyio

from momento_http._errors import ClientClosedError
from momento_http._topics._background import close_soon, spawn
from momento_http._topics._cursor import Cursor
from momento_http._topics._models import Heartbeat, TopicEvent
from momento_http._topics._once import Once
from momento_http._topics._subscription_stats import SubscriptionStats
from momento_http._topics._topic_polls import TopicPolls

__all__ = ["Subscription"]


def _nothing() -> None:
    pass


class Subscription:
    """An open subscription to a topic: an async iterator of `TopicEvent`.

    Use it as an async context manager and iterate it:

        async with client.subscribe("cache", "topic") as subscription:
            async for event in subscription:
                ...

    Entering it sends the first poll, and returns once the request is written (on the
    SDK's `MomentoTransport`; on another transport, once it is handed over), so the
    subscription starts with that poll, not with the first `async for`. Without `async
    with`, enter it with a `contextlib.AsyncExitStack`. Iterated without being entered, it
    sends its first poll when iteration begins, and holds its connection until `aclose`,
    or until it is dropped (left with `break`, and referred to no more): the garbage
    collector's finalizer then closes it on the event loop.

    Transient failures (connection errors, timeouts, 5xx, 429, malformed answers) are
    retried from the cursor with backoff capped at `retry.max_delay`, for as long as they
    last (a WARNING is logged after 3 in a row, an INFO once a poll is answered again),
    unless `retry.max_poll_failures` sets a limit; errors that retrying cannot fix (400,
    401, 403, 404, and other statuses) are raised from the iterator. Closing the
    subscription (`aclose`, leaving `async with`) or its client ends the iteration
    (`StopAsyncIteration`), never with an error.

    The same (page, sequence number) is never yielded twice, a gap in the numbers is
    always announced by a `Discontinuity`, and so is a start that could not be kept
    (`Discontinuity(unknown_start=True)`). An answer that comes at once with nothing new
    is followed by a backoff (see `QuietBackoff`), so a server answering so never has the
    subscription spin.

    Create one with `MomentoClient.subscribe`.
    """

    def __init__(
        self,
        polls: TopicPolls,
        *,
        sequence_number: int,
        sequence_page: int | None,
        heartbeats: bool,
        on_end: Callable[[Subscription], None],
    ) -> None:
        self._polls = polls
        self._cursor = Cursor(sequence_number, sequence_page, heartbeats=heartbeats)
        self._on_end = on_end
        self._released = False
        # Lists, not deques: an empty deque takes ~600 bytes, a thousand subscriptions 1.2 MB.
        self._received: list[TopicEvent] = []  # the last poll's events, read from _next_received
        self._next_received = 0
        self._ready: list[TopicEvent] = []  # one event checked against the cursor: up to two
        self._closed = False
        self._in_flight: anyio.CancelScope | None = None
        self._iterating = False
        self._busy = 0  # tasks using the connection: the iterating one, the first poll's
        self._entered = False
        # The first poll, sent on entering, in a task of its own until it has events. Only
        # `_first` outlives entering, and no cancel scope of its own (`_in_flight` covers it):
        # each costs ~400 bytes, and a thousand waiting subscriptions hold them all.
        self._first_task: asyncio.Task[None] | None = None
        self._first: Once | None = None  # set when it is over
        self._first_started: Once | None = None  # set when its task runs: entering waits
        self._first_sent: Once | None = None  # set when it is written: entering waits
        self._first_error: Exception | None = None  # raised by the next `__anext__`
        # Nothing the polls keep refers back to the subscription: dropped, it is garbage.
        polls.watch(written=_nothing, unanswered=self._cursor.poll_unanswered)

    @property
    def next_sequence_number(self) -> int:
        """The number to resume from: one past the last message yielded.

        0 while the subscription has no position (none given, no message yet): it is not a
        message number, and a subscription given 0 starts with the next message published.
        """
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
        return self._polls.stats

    def __repr__(self) -> str:
        return (
            f"Subscription(next_sequence_number={self._cursor.next}, "
            f"sequence_page={self._cursor.page}, closed={self._closed})"
        )

    async def __aenter__(self) -> Subscription:
        """Send the first poll; return once it is written (see the class)."""
        if self._entered:
            raise RuntimeError("a subscription can be entered once")
        self._entered = True
        if self._closed or self._iterating or self._busy:
            return self  # iterating already: its start is behind it
        started, sent = self._first_started, self._first_sent = Once(), Once()
        self._polls.watch(written=sent.set, unanswered=self._cursor.poll_unanswered)
        self._first = Once()
        self._first_task = spawn(self._first_poll, "momento_http first poll")
        try:
            await started.wait()  # resumed once the task waits: at the transport by then
            if self._polls.reports_writes:
                await sent.wait()
        except BaseException:
            await self._end()
            await self._first_over()
            raise
        finally:
            self._first_started = self._first_sent = None
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self.aclose()
        finally:
            await self._first_over()

    async def aclose(self) -> None:
        """End the subscription, cutting off a poll in flight at once. Safe to repeat."""
        await self._end()

    async def _end(self) -> None:
        """Close; the connection goes now, or when the last task using it leaves it."""
        self._closed = True
        if self._in_flight is not None:  # the first poll's too: a task not yet in it sees
            self._in_flight.cancel()  # `_closed` and sends nothing
        if not self._busy:
            await self._release()

    async def _first_over(self) -> None:
        """Wait, whatever cancels the caller, until the first poll's task has ended."""
        done = self._first
        if done is not None:
            with anyio.CancelScope(shield=True):
                await done.wait()

    async def _release(self) -> None:
        if self._released:
            return
        self._released = True
        self._on_end(self)
        with anyio.CancelScope(shield=True):
            await self._polls.aclose()

    def __del__(self) -> None:
        # Dropped unclosed (iterated without `async with`, left with `break`): its
        # connection is closed on the event loop, as an async generator is finalized.
        if not getattr(self, "_released", True):
            close_soon(self._polls.aclose)

    async def _first_poll(self) -> None:
        """The first poll, in the subscription's own task, until its answer has events."""
        self._busy += 1
        try:
            if self._first_started is not None:
                self._first_started.set()  # this task runs on until it waits: entering resumes
            await self._fetch()
        except Exception as error:  # the iterator raises it: the block runs on
            self._first_error = error
        finally:
            self._busy -= 1
            for event in (self._first_started, self._first_sent, self._first):
                if event is not None:
                    event.set()
            self._first = self._first_task = None
            if self._closed and not self._busy:
                with contextlib.suppress(Exception):  # a trio system task must not raise
                    await self._release()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> TopicEvent:
        if self._iterating:
            raise RuntimeError("another task is already waiting on this subscription")
        self._iterating = True
        self._busy += 1
        try:
            while True:
                if self._closed:
                    raise StopAsyncIteration
                if self._ready:
                    return self._cursor.advance(self._ready.pop(0))
                if self._next_received < len(self._received):
                    self._ready = self._cursor.check(self._received[self._next_received])
                    self._next_received += 1
                elif self._first is not None:  # the first poll, sent on entering, is out
                    await self._first.wait()
                else:
                    await self._next_poll()
        finally:
            self._iterating = False
            self._busy -= 1
            if self._closed and not self._busy:
                await self._release()

    async def _next_poll(self) -> None:
        """Raise the first poll's error, if it failed, or poll: closing the client ends it."""
        error, self._first_error = self._first_error, None
        try:
            if error is not None:
                raise error
            await self._fetch()
        except ClientClosedError:
            # A poll that starts once the client began closing, before the client came to
            # end this subscription, fails so. A closed `http_client` of the caller's
            # raises the same error while the client is open: that one is raised.
            if not self._polls.client_closed:
                raise
            self._closed = True

    async def _fetch(self) -> None:
        """Poll until there is something to show, or until closed; the poller retries."""
        with anyio.CancelScope() as scope:
            self._in_flight = scope
            try:
                while not self._closed:
                    events = await self._polls.poll(self._cursor.query())
                    news = self._cursor.news(events)
                    self._polls.heard(news=news)
                    beats = [event for event in events if isinstance(event, Heartbeat)]
                    if len(beats) == len(events):
                        self._cursor.poll_unanswered()  # no position from it: ask anew
                    if news or (beats and self._cursor.heartbeats):
                        self._received, self._next_received = events, 0
                        return
            finally:
                self._in_flight = None
