"""How transient failures are retried: capped exponential backoff with full jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass

from momento_http._errors import InvalidArgumentError

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff between attempts after a transient failure.

    The delay before retry `n` (from 1) is a random time between 0 and
    `min(max_delay, base_delay * 2 ** (n - 1))` ("full jitter"). A `Retry-After` from the
    server replaces it when given, up to `max_retry_after`.

    Attributes:
        max_attempts: Attempts in a row that may fail before the error is raised.
        base_delay: Seconds the first backoff is drawn below.
        max_delay: The cap on any backoff.
        max_retry_after: The most a server's `Retry-After` is honoured for.
    """

    max_attempts: int = 8
    base_delay: float = 0.1
    max_delay: float = 5.0
    max_retry_after: float = 30.0

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise InvalidArgumentError("max_attempts must be an int")
        if self.max_attempts < 1:
            raise InvalidArgumentError("max_attempts must be at least 1")
        for name in ("base_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise InvalidArgumentError(f"{name} must be a non-negative number of seconds")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1 for the first retry).

        Args:
            attempt: How many attempts in a row have failed.
            retry_after: The server's `Retry-After`, in seconds, if it sent one.

        Returns:
            The delay.
        """
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2 ** min(attempt - 1, 62))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
