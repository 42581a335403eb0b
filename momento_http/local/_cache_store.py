"""The items of every cache: TTL expiry and least-recently-used eviction under the budget."""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable

from momento_http.local._memory import ITEM_OVERHEAD, MemoryBudget

__all__ = ["CacheStore", "item_size"]

_Slot = tuple[str, bytes]


class _Item:
    __slots__ = ("expires_at", "value")

    def __init__(self, value: bytes, expires_at: float) -> None:
        self.value = value
        self.expires_at = expires_at


def item_size(key: bytes, value: bytes) -> int:
    """The bytes an item is counted as: its key, its value, and a fixed overhead."""
    return len(key) + len(value) + ITEM_OVERHEAD


class CacheStore:
    """Items keyed by (cache, key bytes), counted against the server's memory budget.

    When the budget runs short the store gives back expired items first, then (after the
    topic store's idle topics) the least recently used ones.

    Not thread-safe: the server's event loop is its only user.

    Args:
        budget: The memory budget shared with the topics.
        clock: Gives the time in epoch seconds, for expiry.
    """

    def __init__(self, budget: MemoryBudget, clock: Callable[[], float]) -> None:
        self._budget = budget
        self._clock = clock
        self._items: OrderedDict[_Slot, _Item] = OrderedDict()
        self._expiries: list[tuple[float, str, bytes]] = []

    def __len__(self) -> int:
        return len(self._items)

    def shed_expired(self, keep: object) -> bool:
        """Drop one expired item, if there is one; a `Shedder`."""
        del keep  # an item just stored has not expired
        now = self._clock()
        while self._expiries and self._expiries[0][0] <= now:
            expires_at, cache, key = heapq.heappop(self._expiries)
            # The heap may name items since replaced or removed: only drop an item whose
            # own expiry is the one the heap entry recorded.
            item = self._items.get((cache, key))
            if item is not None and item.expires_at == expires_at:
                self._remove((cache, key))
                return True
        return False

    def shed_least_recently_used(self, keep: object) -> bool:
        """Drop the least recently used item other than `keep`; a `Shedder`."""
        for slot in self._items:
            if slot != keep:
                self._remove(slot)
                return True
            break  # `keep` is the newest: it is first only when it is alone
        return False

    def get(self, cache: str, key: bytes) -> bytes | None:
        """The value, or None when absent or expired; a hit counts as a use."""
        slot = (cache, key)
        item = self._items.get(slot)
        if item is None:
            return None
        if item.expires_at <= self._clock():
            self._remove(slot)
            return None
        self._items.move_to_end(slot)
        return item.value

    def set(self, cache: str, key: bytes, value: bytes, expires_at: float) -> None:
        """Store a value, giving memory back as the budget requires.

        Raises:
            OverBudgetError: The item alone is larger than the whole budget.
        """
        size = item_size(key, value)
        self._budget.check(size, "the item")
        slot = (cache, key)
        if slot in self._items:
            self._remove(slot)
        self._items[slot] = _Item(value, expires_at)
        heapq.heappush(self._expiries, (expires_at, cache, key))
        if len(self._expiries) > len(self._items) * 5 // 4 + 64:  # bound what it costs
            self._expiries = [(i.expires_at, c, k) for (c, k), i in self._items.items()]
            heapq.heapify(self._expiries)
        self._budget.charge(size, keep=slot)

    def delete(self, cache: str, key: bytes) -> None:
        """Remove a key if present."""
        slot = (cache, key)
        if slot in self._items:
            self._remove(slot)

    def _remove(self, slot: _Slot) -> None:
        item = self._items.pop(slot)
        self._budget.release(item_size(slot[1], item.value))
