"""Fault rules: make matching requests stall, fail, drop, or answer what you choose."""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, fields
from typing import Any, Literal

__all__ = ["Disconnect", "Fault", "FaultInjector"]

Disconnect = Literal["before_response", "mid_body"]

_METHODS = frozenset({"GET", "PUT", "DELETE", "POST"})


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do to the next matching requests instead of serving them plainly.

    - `status` (with `message`, `content_type`, `retry_after`): answer that instead. A
      `200` with a body of your own makes a poll answer anything, malformed JSON included.
    - `disconnect`: serve the request, then cut the connection before the answer
      (`"before_response"`) or halfway through its body (`"mid_body"`).
    - `delay` alone: serve the request and hold the answer back; the work is done, but
      the client may give up before it hears so. With a status, wait before answering.

    Attributes:
        status: The HTTP status to answer with, or None to serve the request.
        message: The response body, with `status`.
        content_type: The response's `Content-Type`, with `status`.
        retry_after: Seconds for a `Retry-After` header, with `status`.
        disconnect: Cut the connection before the answer or mid-body.
        delay: Seconds to hold the answer back.
        method: Match only this HTTP method (any when None).
        cache: Match only requests naming this cache (any when None).
        topic: Match only requests naming this topic (any when None).
        count: How many requests the rule applies to before it is spent; None for all.
        probability: The chance that a matching request is hit; a miss spends no use.
    """

    status: int | None = None
    message: str | bytes = "injected fault"
    content_type: str = "text/plain; charset=utf-8"
    retry_after: float | None = None
    disconnect: Disconnect | None = None
    delay: float = 0.0
    method: str | None = None
    cache: str | None = None
    topic: str | None = None
    count: int | None = 1
    probability: float = 1.0

    def __post_init__(self) -> None:
        if self.status is None and self.disconnect is None and not self.delay:
            raise ValueError("a fault needs a status, a disconnect, or a delay")
        if self.status is not None and self.disconnect is not None:
            raise ValueError("a fault answers with a status or disconnects, not both")
        if self.status is not None and not 200 <= self.status <= 599:  # noqa: PLR2004
            raise ValueError(f"a fault's status must be from 200 to 599, not {self.status}")
        if self.disconnect not in (None, "before_response", "mid_body"):
            raise ValueError("disconnect must be 'before_response' or 'mid_body'")
        if not self.delay >= 0:
            raise ValueError("a fault's delay must be a non-negative number of seconds")
        if self.retry_after is not None and not self.retry_after >= 0:
            raise ValueError("a fault's retry_after must be a non-negative number of seconds")
        if not (self.content_type.isascii() and self.content_type.isprintable()):
            raise ValueError("a fault's content_type must be printable ASCII")
        if self.count is not None and self.count < 1:
            raise ValueError("a fault's count must be at least 1, or None for every request")
        if not 0 < self.probability <= 1:
            raise ValueError("a fault's probability must be above 0 and at most 1")
        if self.method is not None:
            object.__setattr__(self, "method", self.method.upper())
            if self.method not in _METHODS:
                raise ValueError(f"a fault's method must be one of {sorted(_METHODS)}")

    @classmethod
    def from_json(cls, text: str) -> Fault:
        """Read a rule written as a JSON object of the attributes, e.g. `{"status": 503}`.

        Raises:
            ValueError: The text is not such an object, or the rule is malformed.
        """
        try:
            spec: Any = json.loads(text)
        except ValueError:
            raise ValueError("a fault rule must be a JSON object") from None
        if not isinstance(spec, dict):
            raise ValueError("a fault rule must be a JSON object")  # noqa: TRY004 - bad text

        known = {field.name for field in fields(cls)}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(f"unknown fault attributes: {', '.join(unknown)}")
        try:
            return cls(**spec)
        except (TypeError, AttributeError) as error:  # a value of the wrong JSON type
            raise ValueError(f"a malformed fault rule: {error}") from None

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
    remaining: int | None


class FaultInjector:
    """Rules added from any thread, taken by the server as requests arrive.

    Args:
        seed: Seeds the draws of rules with a probability, for repeatable runs.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Armed] = []
        self._random = random.Random(seed)  # noqa: S311 - chaos, not cryptography
        self.hits: dict[str, int] = {}
        """How many requests each kind of fault has hit, by kind."""

    def add(self, fault: Fault) -> None:
        """Arm a rule; rules are tried in the order they were added."""
        with self._lock:
            self._rules.append(_Armed(fault, fault.count))

    def clear(self) -> None:
        """Disarm every rule and forget the counts."""
        with self._lock:
            self._rules.clear()
            self.hits.clear()

    def take(self, method: str, cache: str, topic: str | None) -> Fault | None:
        """The first armed rule that hits this request, spending one of its uses."""
        if not self._rules:
            return None
        with self._lock:
            for index, armed in enumerate(self._rules):
                fault = armed.fault
                if not fault.matches(method, cache, topic):
                    continue
                if fault.probability < 1 and self._random.random() >= fault.probability:
                    continue
                if armed.remaining is not None:
                    armed.remaining -= 1
                    if not armed.remaining:
                        del self._rules[index]
                kind = _kind(fault)
                self.hits[kind] = self.hits.get(kind, 0) + 1
                return fault
        return None


def _kind(fault: Fault) -> str:
    if fault.disconnect is not None:
        return f"disconnect {fault.disconnect}"
    if fault.status is not None:
        return f"status {fault.status}"
    return "stall"
