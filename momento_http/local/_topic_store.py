"""Topics: numbered messages in pages, a bounded ring of recent ones, and long-poll waits."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

import anyio

from momento_http.local._memory import (
    EVENT_OVERHEAD,
    MESSAGE_OVERHEAD,
    TOPIC_OVERHEAD,
    MemoryBudget,
    text_size,
)

__all__ = ["Entry", "Gap", "Heartbeat", "Message", "TopicStore", "message_size"]

_Name = tuple[str, str]


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


def message_size(value: str | bytes) -> int:
    """The bytes a message in a ring is counted as: its value and a fixed overhead."""
    return text_size(value) + MESSAGE_OVERHEAD


class _Topic:
    __slots__ = (
        "last_used",
        "name",
        "next_sequence_number",
        "page",
        "pollers",
        "published",
        "ring",
        "size",
    )

    def __init__(self, name: _Name, page: int, ring_size: int, now: float) -> None:
        self.name = name
        self.page = page
        self.next_sequence_number = 1
        self.ring: deque[Message] = deque(maxlen=ring_size)
        self.published: anyio.Event | None = None  # made when a poll first waits
        self.last_used = now
        self.pollers = 0
        self.size = TOPIC_OVERHEAD + text_size(name[0]) + text_size(name[1])

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
    """Every topic of every cache, created on first use, dropped when idle or short of memory.

    A topic with a poll waiting is never dropped; when the budget runs short the store
    gives back topics with no poll waiting (least recently used first), and as a last
    resort the oldest messages of the topic being published to, then of the others.

    Not thread-safe, but for `held_polls`: the server's event loop is its only user.

    Args:
        budget: The memory budget shared with the cache items.
        ring_size: How many recent messages each topic keeps.
        idle_seconds: How long a topic nobody uses lives on.
        batch_size: The most entries one poll returns.
        clock: Gives the time in epoch seconds, for idleness.
        new_page: Gives the page number of a topic created now.
    """

    def __init__(
        self,
        budget: MemoryBudget,
        *,
        ring_size: int,
        idle_seconds: float,
        batch_size: int,
        clock: Callable[[], float],
        new_page: Callable[[], int],
    ) -> None:
        self._budget = budget
        self._ring_size = ring_size
        self._idle_seconds = idle_seconds
        self._batch_size = batch_size
        self._clock = clock
        self._new_page = new_page
        self._idle: OrderedDict[_Name, _Topic] = OrderedDict()  # no poll waiting; oldest first
        self._held: dict[_Name, _Topic] = {}  # a poll waiting
        self._held_lock = threading.Lock()  # `held_polls` reads `_held` from other threads
        self._closed = False

    def __len__(self) -> int:
        return len(self._idle) + len(self._held)

    def held_polls(self, cache: str, topic: str) -> int:
        """How many polls are waiting on this topic now; safe from any thread."""
        with self._held_lock:
            found = self._held.get((cache, topic))
            return found.pollers if found is not None else 0

    def _topic(self, cache: str, topic: str) -> _Topic:
        now = self._clock()
        self._drop_idle(now)
        name = (cache, topic)
        found = self._held.get(name)
        if found is None:
            found = self._idle.get(name)
            if found is None:
                found = _Topic(name, self._new_page(), self._ring_size, now)
                self._idle[name] = found
                self._budget.charge(found.size, keep=found)
            else:
                self._idle.move_to_end(name)
        found.last_used = now
        return found

    def _drop_idle(self, now: float) -> None:
        while self._idle:
            oldest = next(iter(self._idle.values()))
            if now - oldest.last_used < self._idle_seconds:
                return
            self._drop(oldest)

    def _drop(self, state: _Topic) -> None:
        del self._idle[state.name]
        self._budget.release(state.size)

    def shed_idle_topic(self, keep: object) -> bool:
        """Drop the least recently used topic with no poll waiting; a `Shedder`."""
        for state in self._idle.values():
            if state is not keep:
                self._drop(state)
                return True
            break  # `keep` is the newest: it is first only when it is alone
        return False

    def shed_oldest_message(self, keep: object) -> bool:
        """Drop an old message: of `keep`, never its newest; else of a held topic. A `Shedder`."""
        if isinstance(keep, _Topic) and len(keep.ring) > 1:
            self._forget(keep, keep.ring.popleft())
            return True
        for state in self._held.values():
            if state.ring and state is not keep:
                self._forget(state, state.ring.popleft())
                return True
        return False

    def _forget(self, state: _Topic, message: Message) -> None:
        size = message_size(message.value)
        state.size -= size
        self._budget.release(size)

    def publish(
        self, cache: str, topic: str, value: str | bytes, publisher_id: str | None
    ) -> Message:
        """Append a message and wake the topic's pollers.

        Raises:
            OverBudgetError: The message alone is larger than the whole budget.
        """
        size = message_size(value)
        self._budget.check(size + TOPIC_OVERHEAD, "the message with its topic")
        state = self._topic(cache, topic)
        message = Message(state.next_sequence_number, state.page, value, publisher_id)
        state.next_sequence_number += 1
        if len(state.ring) == state.ring.maxlen:
            self._forget(state, state.ring[0])
        state.ring.append(message)
        state.size += size
        self._budget.charge(size, keep=state)
        self._wake(state)
        return message

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
        found = state.read_from(wanted, page, self._batch_size)
        if found or self._closed:
            return found
        wait = hold if heartbeat is None else min(hold, heartbeat)
        self._hold(state)
        try:
            with anyio.move_on_after(wait):
                while not self._closed:
                    found = state.read_from(wanted, page, self._batch_size)
                    if found:
                        return found
                    if state.published is None:
                        state.published = anyio.Event()
                        state.size += EVENT_OVERHEAD
                        self._budget.charge(EVENT_OVERHEAD, keep=state)
                    await state.published.wait()
                return []
        finally:
            self._release(state)
        return [Heartbeat()] if heartbeat is not None and heartbeat <= hold else []

    def _hold(self, state: _Topic) -> None:
        with self._held_lock:
            if not state.pollers:
                del self._idle[state.name]
                self._held[state.name] = state
            state.pollers += 1

    def _release(self, state: _Topic) -> None:
        with self._held_lock:
            state.pollers -= 1
            if not state.pollers:
                del self._held[state.name]
                self._idle[state.name] = state  # the most recently used
        state.last_used = self._clock()
        if not state.pollers and state.published is not None:
            self._drop_event(state)  # no one waits on it

    def _wake(self, state: _Topic) -> None:
        """Wake every poll waiting on the topic; later polls wait on a fresh event."""
        if state.published is not None:
            state.published.set()
            self._drop_event(state)

    def _drop_event(self, state: _Topic) -> None:
        state.published = None
        state.size -= EVENT_OVERHEAD
        self._budget.release(EVENT_OVERHEAD)

    def close(self) -> None:
        """Answer every waiting poll now, with nothing, so the server can stop."""
        self._closed = True
        for state in [*self._held.values()]:
            self._wake(state)
