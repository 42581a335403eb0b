"""The memory budget every store charges, and the order in which they give memory back.

Sizes are what the data takes (the bytes of keys, values, names and messages) plus a fixed
overhead for each Python object that holds it, measured on CPython 3.10 to 3.13 with room to
spare, so that what the budget counts is at least what the process spends.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "EVENT_OVERHEAD",
    "ITEM_OVERHEAD",
    "MESSAGE_OVERHEAD",
    "TOPIC_OVERHEAD",
    "MemoryBudget",
    "OverBudgetError",
    "Shedder",
    "text_size",
]

ITEM_OVERHEAD = 480
"""Bytes counted for each cache item beyond its key and value: its entries in the item
table and the expiry heap, and the objects holding them (about 400 at worst)."""

TOPIC_OVERHEAD = 1600
"""Bytes counted for each topic beyond its name: its state and its ring (about 1,150)."""

EVENT_OVERHEAD = 1100
"""Bytes counted for a topic's wake-up event while a poll waits on it (about 1,000)."""

MESSAGE_OVERHEAD = 200
"""Bytes counted for each message a topic's ring holds, beyond its value (about 130)."""

Shedder = Callable[[object], bool]
"""Gives back memory by dropping one thing, never `keep` (its argument); False when it can't."""


class OverBudgetError(Exception):
    """One thing alone is larger than the whole budget."""


def text_size(text: str | bytes) -> int:
    """The bytes a text or bytes value is counted as: its UTF-8 length.

    That is never less than what CPython keeps for a `str`'s characters (1, 2 or 4 bytes
    each, whichever fits its widest).
    """
    if isinstance(text, bytes) or text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


class MemoryBudget:
    """Bytes the stores may hold; charging past it makes them give memory back.

    Not thread-safe: the server's event loop is its only user.

    Args:
        max_bytes: The budget.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self._shedders: list[Shedder] = []

    def add_shedder(self, shed: Shedder) -> None:
        """Add a way of giving memory back; earlier ones are tried first."""
        self._shedders.append(shed)

    def check(self, size: int, what: str) -> None:
        """Refuse what could never fit, before anything is dropped to make room for it.

        Raises:
            OverBudgetError: `size` is more than the whole budget.
        """
        if size > self.max_bytes:
            raise OverBudgetError(
                f"{what} takes {size} bytes as the server counts them, more than its whole "
                f"memory budget of {self.max_bytes} (--max-memory-bytes)"
            )

    def charge(self, size: int, keep: object = None) -> None:
        """Count `size` more bytes, then give memory back until within budget.

        Args:
            size: The bytes just stored.
            keep: What was just stored, which must not be dropped to make its own room.
        """
        self.used += size
        if self.used <= self.max_bytes:
            return
        for shed in self._shedders:
            while self.used > self.max_bytes and shed(keep):
                pass
            if self.used <= self.max_bytes:
                return

    def release(self, size: int) -> None:
        """Count `size` fewer bytes: something was dropped."""
        self.used -= size
