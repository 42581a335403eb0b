"""Topics: numbered messages in pages, a bounded ring of recent ones, and long-poll waits."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

import anyio

__all__ = ["Gap", "Heartbeat", "Message", "TopicStore"]


@dataclass(frozen=True, slots=True)
class Message:
    """A published message as the topic keeps it."""

    sequence_number: int
    sequence_page: int
    value: str | bytes
    publisher_id: str | None


@dataclass(frozen=True, slots=True)
class Gap:
    """Messages after `last_sequence_number` up to `new_sequence_number` are gone."""

    last_sequence_number: int
    new_sequence_number: int
    new_sequence_page: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Nothing yet, but the topic is alive."""


Entry = Message | Gap | Heartbeat


class _Topic:
    def __init__(self, page: int, ring_size: int, now: float) -> None:
        self.page = page
        self.next_sequence_number = 1
        self.ring: deque[Message] = deque(maxlen=ring_size)
        self.published = anyio.Event()
        self.last_used = now
        self.pollers = 0

    def publish(self, value: str | bytes, publisher_id: str | None) -> Message:
        message = Message(self.next_sequence_number, self.page, value, publisher_id)
        self.next_sequence_number += 1
        self.ring.append(message)
        # Wake every poll waiting on this topic; later polls wait on a fresh event.
        self.published.set()
        self.published = anyio.Event()
        return message

    def read_from(self, wanted: int, page: int, limit: int) -> list[Entry]:
        """Up to `limit` entries for a poll wanting `wanted` (1 or more) in `page` (0: any)."""
        same_page = page in (0, self.page)
        if not self.ring or (same_page and wanted == self.next_sequence_number):
            return []
        oldest = self.ring[0].sequence_number
        if same_page and oldest <= wanted < self.next_sequence_number:
            return list(islice(self.ring, wanted - oldest, wanted - oldest + limit))
        # The cursor is older than the ring, ahead of the topic, or from another page.
        gap = Gap(wanted - 1, oldest, self.page)
        return [gap, *islice(self.ring, 0, limit - 1)]


class TopicStore:
    """Every topic of every cache, created on first use and dropped when idle.

    Not thread-safe: the server's event loop is its only user.

    Args:
        ring_size: How many recent messages each topic keeps.
        idle_seconds: How long a topic nobody uses lives on.
        batch_size: The most entries one poll returns.
        clock: Gives the time in epoch seconds, for idleness.
        new_page: Gives the page number of a topic created now.
    """

    def __init__(
        self,
        *,
        ring_size: int,
        idle_seconds: float,
        batch_size: int,
        clock: Callable[[], float],
        new_page: Callable[[], int],
    ) -> None:
        self._ring_size = ring_size
        self._idle_seconds = idle_seconds
        self._batch_size = batch_size
        self._clock = clock
        self._new_page = new_page
        self._topics: dict[tuple[str, str], _Topic] = {}
        self._last_sweep = clock()
        self._closed = False

    def __len__(self) -> int:
        return len(self._topics)

    def _topic(self, cache: str, topic: str) -> _Topic:
        now = self._clock()
        if now - self._last_sweep >= min(self._idle_seconds, 1.0):
            self._drop_idle(now)
        found = self._topics.get((cache, topic))
        if found is None:
            found = _Topic(self._new_page(), self._ring_size, now)
            self._topics[(cache, topic)] = found
        found.last_used = now
        return found

    def _drop_idle(self, now: float) -> None:
        self._last_sweep = now
        idle = [
            name
            for name, state in self._topics.items()
            if not state.pollers and now - state.last_used >= self._idle_seconds
        ]
        for name in idle:
            del self._topics[name]

    def publish(
        self, cache: str, topic: str, value: str | bytes, publisher_id: str | None
    ) -> Message:
        """Append a message and wake the topic's pollers."""
        return self._topic(cache, topic).publish(value, publisher_id)

    async def poll(
        self,
        cache: str,
        topic: str,
        sequence_number: int,
        sequence_page: int,
        *,
        hold: float,
        heartbeat: float | None = None,
    ) -> list[Entry]:
        """Wait for something to return from `sequence_number` on.

        Args:
            cache: The cache the topic lives in.
            topic: The topic name.
            sequence_number: The next number the poller wants; 0 for "the next published".
            sequence_page: The page the poller last saw; 0 when it knows none.
            hold: Seconds to wait when there is nothing to return yet.
            heartbeat: When set, answer a heartbeat after waiting this long instead.

        Returns:
            Messages in order, after a gap when the ones asked for are gone; a heartbeat;
            or nothing, when the hold ran out or the store is closing.
        """
        state = self._topic(cache, topic)
        wanted = sequence_number or state.next_sequence_number
        page = sequence_page if sequence_number else 0
        wait = hold if heartbeat is None else min(hold, heartbeat)
        state.pollers += 1
        try:
            with anyio.move_on_after(wait):
                while not self._closed:
                    found = state.read_from(wanted, page, self._batch_size)
                    if found:
                        return found
                    await state.published.wait()
                return []
        finally:
            state.pollers -= 1
            state.last_used = self._clock()
        return [Heartbeat()] if heartbeat is not None and heartbeat <= hold else []

    def close(self) -> None:
        """Answer every waiting poll now, with nothing, so the server can stop."""
        self._closed = True
        for state in self._topics.values():
            state.published.set()
