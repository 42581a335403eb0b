"""Topics: numbered messages in pages, a bounded ring of recent ones, and long-poll waits."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

import anyio

__all__ = ["Gap", "Message", "TopicStore"]


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


class _Topic:
    def __init__(self, page: int, ring_size: int) -> None:
        self.page = page
        self.next_sequence_number = 1
        self.ring: deque[Message] = deque(maxlen=ring_size)
        self.published = anyio.Event()

    def publish(self, value: str | bytes, publisher_id: str | None) -> Message:
        message = Message(self.next_sequence_number, self.page, value, publisher_id)
        self.next_sequence_number += 1
        self.ring.append(message)
        # Wake every poll waiting on this topic; later polls wait on a fresh event.
        self.published.set()
        self.published = anyio.Event()
        return message

    def read_from(self, wanted: int, page: int) -> list[Message | Gap]:
        """What a poll asking for `wanted` (1 or more) in `page` (0: any) gets now."""
        same_page = page in (0, self.page)
        if not self.ring or (same_page and wanted == self.next_sequence_number):
            return []
        oldest = self.ring[0].sequence_number
        if same_page and oldest <= wanted < self.next_sequence_number:
            return list(islice(self.ring, wanted - oldest, None))
        # The cursor is older than the ring, ahead of the topic, or from another page.
        gap = Gap(wanted - 1, oldest, self.page)
        return [gap, *self.ring]


class TopicStore:
    """Every topic of every cache, created on first use.

    Args:
        ring_size: How many recent messages each topic keeps.
        new_page: Gives the page number of a topic created now.
    """

    def __init__(self, ring_size: int, new_page: Callable[[], int]) -> None:
        self._ring_size = ring_size
        self._new_page = new_page
        self._topics: dict[tuple[str, str], _Topic] = {}
        self._closed = False

    def _topic(self, cache: str, topic: str) -> _Topic:
        found = self._topics.get((cache, topic))
        if found is None:
            found = _Topic(self._new_page(), self._ring_size)
            self._topics[(cache, topic)] = found
        return found

    def publish(
        self, cache: str, topic: str, value: str | bytes, publisher_id: str | None
    ) -> Message:
        """Append a message and wake the topic's pollers."""
        return self._topic(cache, topic).publish(value, publisher_id)

    def messages(self, cache: str, topic: str) -> list[Message]:
        """The messages the topic still keeps, oldest first."""
        found = self._topics.get((cache, topic))
        return [] if found is None else list(found.ring)

    async def poll(
        self, cache: str, topic: str, sequence_number: int, sequence_page: int, hold: float
    ) -> list[Message | Gap]:
        """Wait up to `hold` seconds for something to return from `sequence_number` on.

        Args:
            cache: The cache the topic lives in.
            topic: The topic name.
            sequence_number: The next number the poller wants; 0 for "the next published".
            sequence_page: The page the poller last saw; 0 when it knows none.
            hold: Seconds to wait when there is nothing to return yet.

        Returns:
            Messages in order, after a gap when the ones asked for are gone; empty when
            nothing came in time or the store is closing.
        """
        state = self._topic(cache, topic)
        wanted = sequence_number or state.next_sequence_number
        page = sequence_page if sequence_number else 0
        with anyio.move_on_after(hold):
            while not self._closed:
                found = state.read_from(wanted, page)
                if found:
                    return found
                await state.published.wait()
        return []

    def close(self) -> None:
        """Answer every waiting poll now, with nothing, so the server can stop."""
        self._closed = True
        for state in self._topics.values():
            state.published.set()
