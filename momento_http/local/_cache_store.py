"""The items of every cache: TTL expiry and least-recently-used eviction under a byte budget."""

from __future__ import annotations

import heapq
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["CacheStore"]


@dataclass(slots=True)
class _Item:
    value: bytes
    expires_at: float
    size: int


class CacheStore:
    """Items keyed by (cache, key bytes), bounded by their total size.

    Not thread-safe: the server's event loop is its only user.

    Args:
        max_bytes: The budget for keys and values together; setting past it evicts the
            least recently used items.
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, bytes], _Item] = OrderedDict()
        self._expiries: list[tuple[float, str, bytes]] = []
        self._size = 0

    @property
    def size(self) -> int:
        """Bytes held: every live item's key and value."""
        return self._size

    def __len__(self) -> int:
        return len(self._items)

    def get(self, cache: str, key: bytes, now: float) -> bytes | None:
        """The value, or None when absent or expired; a hit counts as a use."""
        slot = (cache, key)
        item = self._items.get(slot)
        if item is None:
            return None
        if item.expires_at <= now:
            self._remove(slot)
            return None
        self._items.move_to_end(slot)
        return item.value

    def set(self, cache: str, key: bytes, value: bytes, expires_at: float, now: float) -> None:
        """Store a value, dropping expired items and then the least recently used."""
        slot = (cache, key)
        if slot in self._items:
            self._remove(slot)
        item = _Item(value, expires_at, len(key) + len(value))
        self._items[slot] = item
        self._size += item.size
        heapq.heappush(self._expiries, (expires_at, cache, key))
        self._drop_expired(now)
        while self._size > self._max_bytes:
            oldest = next(iter(self._items))
            self._remove(oldest)

    def delete(self, cache: str, key: bytes) -> None:
        """Remove a key if present."""
        slot = (cache, key)
        if slot in self._items:
            self._remove(slot)

    def _remove(self, slot: tuple[str, bytes]) -> None:
        self._size -= self._items.pop(slot).size

    def _drop_expired(self, now: float) -> None:
        # The heap may name items since replaced or removed: only drop an item whose own
        # expiry is the one the heap entry recorded.
        while self._expiries and self._expiries[0][0] <= now:
            expires_at, cache, key = heapq.heappop(self._expiries)
            item = self._items.get((cache, key))
            if item is not None and item.expires_at == expires_at:
                self._remove((cache, key))
        if len(self._expiries) > 2 * len(self._items) + 64:
            self._expiries = [(i.expires_at, c, k) for (c, k), i in self._items.items()]
            heapq.heapify(self._expiries)
