"""Armed fault rules, indexed so that finding the one that hits a request is cheap."""

from __future__ import annotations

import heapq
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from momento_http.local._faults import Fault, RequestKind, key_bytes, request_kind

__all__ = ["FaultInjector", "FaultLimitError"]

_Slot = tuple[str | None, str | None, str | None, bytes | None, RequestKind | None]
"""What a rule matches on: (method, cache, topic, key, request), None standing for any."""


class FaultLimitError(ValueError):
    """As many rules are armed as the server keeps; clear some first."""


@dataclass(slots=True)
class _Armed:
    fault: Fault
    remaining: int | None


def _slot(fault: Fault) -> _Slot:
    return (fault.method, fault.cache, fault.topic, key_bytes(fault.key), fault.request)


def _slots(method: str, cache: str, topic: str | None, key: bytes | None) -> list[_Slot]:
    """The slots of every rule that could match this request: at most sixteen.

    A request names a topic (a poll or a publish) or a key (an item's), never both.
    """
    kind = request_kind(method, topic)
    topics = (topic, None) if topic is not None else (None,)
    keys = (key, None) if key is not None else (None,)
    return [
        (m, c, t, k, r)
        for m in (method, None)
        for c in (cache, None)
        for t in topics
        for k in keys
        for r in (kind, None)
    ]


def _numbered(group: dict[int, _Armed]) -> Iterator[tuple[int, dict[int, _Armed]]]:
    # Rule numbers are unique, so merging never compares two groups.
    for number in group:
        yield number, group


class FaultInjector:
    """Rules added from any thread, taken by the server as requests arrive.

    Rules are kept by what they match (method, cache, topic, key, request), so a request
    looks at the few groups that could match it rather than at every armed rule; within
    and across groups, rules are tried in the order they were added.

    Args:
        seed: Seeds the draws of rules with a probability, for repeatable runs.
        max_rules: The most rules armed at once.
    """

    def __init__(self, seed: int | None = None, *, max_rules: int = 1000) -> None:
        self._lock = threading.Lock()
        self._max_rules = max_rules
        self._by_slot: dict[_Slot, dict[int, _Armed]] = {}
        self._armed = 0
        self._added = 0
        self._random = random.Random(seed)  # noqa: S311 - chaos, not cryptography
        self.hits: dict[str, int] = {}
        """How many requests each kind of fault has hit, by kind."""

    def __len__(self) -> int:
        return self._armed

    def add(self, fault: Fault) -> None:
        """Arm a rule; rules are tried in the order they were added.

        Raises:
            FaultLimitError: `max_rules` rules are already armed.
        """
        with self._lock:
            if self._armed >= self._max_rules:
                raise FaultLimitError(
                    f"{self._armed} fault rules are armed, the most this server keeps: "
                    "let some run out or clear them first"
                )
            self._by_slot.setdefault(_slot(fault), {})[self._added] = _Armed(fault, fault.count)
            self._added += 1
            self._armed += 1

    def clear(self) -> None:
        """Disarm every rule and forget the counts."""
        with self._lock:
            self._by_slot.clear()
            self._armed = 0
            self.hits.clear()

    def take(
        self, method: str, cache: str, topic: str | None, key: bytes | None = None
    ) -> Fault | None:
        """The first armed rule that hits this request, spending one of its uses.

        Args:
            method: The request's method.
            cache: The cache it names.
            topic: The topic it names; None for an item's request.
            key: The item's key; None for a topic's request, or an unreadable key.
        """
        if not self._armed:  # the usual case: no lock, no work
            return None
        with self._lock:
            slots = _slots(method, cache, topic, key)
            groups = [g for s in slots if (g := self._by_slot.get(s))]
            if not groups:
                return None
            hit: tuple[dict[int, _Armed], int, _Armed] | None = None
            # Each group is in the order its rules were added; merging the groups keeps it.
            for number, group in heapq.merge(*(_numbered(g) for g in groups)):
                armed = group[number]
                probability = armed.fault.probability
                if probability < 1 and self._random.random() >= probability:
                    continue
                hit = (group, number, armed)
                break
            if hit is None:
                return None
            group, number, armed = hit
            if armed.remaining is not None:
                armed.remaining -= 1
                if not armed.remaining:
                    self._disarm(armed.fault, number)
            kind = armed.fault.kind
            self.hits[kind] = self.hits.get(kind, 0) + 1
            return armed.fault

    def _disarm(self, fault: Fault, number: int) -> None:
        slot = _slot(fault)
        group = self._by_slot[slot]
        del group[number]
        if not group:
            del self._by_slot[slot]
        self._armed -= 1
