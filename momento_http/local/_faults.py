"""Fault rules: answer the next matching requests with a chosen status and body."""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["Fault", "FaultInjector"]


@dataclass(frozen=True, slots=True)
class Fault:
    """Make the next `count` matching requests stall, or answer them with a canned response.

    Usually an error status; a `200` with a body of your own makes a poll answer anything,
    malformed JSON included. With only a `delay`, the request is served as usual and its
    answer held back: the work is done, but the client may give up before it hears so.

    Attributes:
        status: The HTTP status to answer with, or None to serve the request normally.
        message: The response body.
        content_type: The response's `Content-Type`.
        retry_after: Seconds for a `Retry-After` header, when set.
        delay: Seconds to hold the answer back.
        method: Match only this HTTP method (any when None).
        cache: Match only requests naming this cache (any when None).
        topic: Match only requests naming this topic (any when None).
        count: How many requests the rule applies to before it is spent.
    """

    status: int | None = None
    message: str | bytes = "injected fault"
    content_type: str = "text/plain; charset=utf-8"
    retry_after: float | None = None
    method: str | None = None
    cache: str | None = None
    topic: str | None = None
    count: int = 1
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.status is None and not self.delay:
            raise ValueError("a fault needs a status, a delay, or both")
        if self.status is not None and not 200 <= self.status <= 599:  # noqa: PLR2004
            raise ValueError(f"a fault's status must be from 200 to 599, not {self.status}")
        if not self.delay >= 0:
            raise ValueError("a fault's delay must be a non-negative number of seconds")
        if self.count < 1:
            raise ValueError("a fault's count must be at least 1")
        if self.method is not None:
            object.__setattr__(self, "method", self.method.upper())

    @property
    def body(self) -> bytes:
        """The response body as bytes."""
        return self.message.encode() if isinstance(self.message, str) else self.message

    def matches(self, method: str, cache: str, topic: str | None) -> bool:
        """Whether a request falls under this rule."""
        return (
            self.method in (None, method)
            and self.cache in (None, cache)
            and self.topic in (None, topic)
        )


@dataclass(slots=True)
class _Armed:
    fault: Fault
    remaining: int


class FaultInjector:
    """Rules added from any thread, taken by the server as requests arrive."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Armed] = []

    def add(self, fault: Fault) -> None:
        """Arm a rule; rules are tried in the order they were added."""
        with self._lock:
            self._rules.append(_Armed(fault, fault.count))

    def clear(self) -> None:
        """Disarm every rule."""
        with self._lock:
            self._rules.clear()

    def take(self, method: str, cache: str, topic: str | None) -> Fault | None:
        """The first armed rule matching this request, spending one of its uses."""
        if not self._rules:
            return None
        with self._lock:
            for index, armed in enumerate(self._rules):
                if armed.fault.matches(method, cache, topic):
                    armed.remaining -= 1
                    if not armed.remaining:
                        del self._rules[index]
                    return armed.fault
        return None
