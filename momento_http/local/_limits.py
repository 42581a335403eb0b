"""The limits the local server enforces."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_CACHE", "Limits"]

DEFAULT_CACHE = "default-cache"

_MIB = 1024 * 1024
_POSITIVE_INTS = (
    "max_item_bytes",
    "max_ttl_seconds",
    "max_publish_bytes",
    "max_memory_bytes",
    "topic_ring_size",
)


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits the local server enforces; the defaults are Momento's.

    Attributes:
        max_item_bytes: Largest item, key and value together.
        max_ttl_seconds: Longest TTL a `set` may ask for.
        max_publish_bytes: Largest published message.
        max_memory_bytes: Total size of all items (keys and values); past it the least
            recently used items are evicted.
        topic_ring_size: How many recent messages each topic keeps for pollers.
        poll_hold_seconds: How long a poll with nothing to return is held before it is
            answered with no items.
    """

    max_item_bytes: int = 5 * _MIB
    max_ttl_seconds: int = 24 * 60 * 60
    max_publish_bytes: int = 4 * 1024
    max_memory_bytes: int = 256 * _MIB
    topic_ring_size: int = 1000
    poll_hold_seconds: float = 30.0

    def __post_init__(self) -> None:
        for name in _POSITIVE_INTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive int, not {value!r}")
        if not self.poll_hold_seconds > 0:
            raise ValueError("poll_hold_seconds must be positive")
