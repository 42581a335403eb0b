"""When and how failed requests are retried: capped exponential backoff with full jitter."""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import httpx

from momento_http._errors import (
    CertificateError,
    InvalidArgumentError,
    LimitExceededError,
    MalformedResponseError,
    MomentoConnectionError,
    MomentoError,
    MomentoTimeoutError,
    ServerError,
)

_IN_TRANSIT = MomentoConnectionError | MomentoTimeoutError

__all__ = ["RetryPolicy", "is_transient"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Which failures are retried, how often, and how long to wait between tries.

    `get`, `set` and `delete` are retried after connection errors, timeouts, `429` and
    `5xx`: repeating them is harmless. `publish` is retried only when the request provably
    never reached the server (the connection could not be made), since a repeat could
    publish the message twice; `publish_at_least_once=True` retries it like the others.

    The wait before retry `n` (from 1) is a random time between 0 and
    `min(max_delay, base_delay * 2 ** (n - 1))` ("full jitter"); a `Retry-After` from the
    server (on a `429` or `503`) replaces it, up to `max_retry_after`.

    A `Retry-After` never stretches a call past its budget: the time its tries may take
    together, `max_attempts * timeout` (for a subscription's poll with a `max_poll_failures`
    limit, that many times the longest a poll may take: `poll_timeout` and `timeout` to
    connect, then `timeout` for the answer), counted from the call's start with the waits
    between tries. When the wait the server asks for (up to `max_retry_after`) is longer
    than what is left, the call is not retried: its error is raised at once, the wait in
    its `retry_after` and its message. A subscription with no limit has no budget: it
    waits what the server asks, up to `max_retry_after`.

    A subscription rides out transient failures for as long as they last by default
    (`max_poll_failures=None`), its backoff capped at `max_delay`; an int sets a limit.

    Attributes:
        max_attempts: Tries of one `get`/`set`/`delete`/`publish`, the first included.
        max_poll_failures: Failed polls in a row after which a subscription raises the
            last failure; None (the default): no limit, it retries for as long as the
            failures last.
        base_delay: Seconds the first backoff is drawn below.
        max_delay: The cap on any backoff.
        max_retry_after: The most a server's `Retry-After` is honoured for.
        publish_at_least_once: Retry `publish` after failures that may have published.
        sleep: Waits between tries; tests can pass one that records instead of waiting.
    """

    max_attempts: int = 3
    max_poll_failures: int | None = None
    base_delay: float = 0.1
    max_delay: float = 5.0
    max_retry_after: float = 30.0
    publish_at_least_once: bool = False
    sleep: Callable[[float], Awaitable[None]] = field(
        default=anyio.sleep, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        _check_limit("max_attempts", self.max_attempts)
        _check_limit("max_poll_failures", self.max_poll_failures, none_ok=True)
        for name in ("base_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise InvalidArgumentError(f"{name} must be a non-negative number of seconds")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1 for the first retry).

        Args:
            attempt: How many tries in a row have failed.
            retry_after: The server's `Retry-After`, in seconds, if it sent one.

        Returns:
            The delay.
        """
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2 ** min(attempt - 1, 62))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography

    def retry_delay(
        self,
        error: MomentoError,
        attempt: int,
        *,
        limit: int | None,
        idempotent: bool,
        time_left: float = math.inf,
    ) -> float | None:
        """The one retry decision: whether to try again after a failure, and when.

        Args:
            error: How the last try failed.
            attempt: How many tries in a row have failed, this one included.
            limit: The most tries in a row (`max_attempts`, or `max_poll_failures`);
                None for no limit.
            idempotent: Whether repeating the request is harmless (`publish` is not).
            time_left: Seconds left of the call's budget: a server's `Retry-After` longer
                than this is not waited for.

        Returns:
            Seconds to wait before the next try, or None to give up and raise `error`.
        """
        if (limit is not None and attempt >= limit) or not is_transient(error):
            return None
        may_repeat = idempotent or self.publish_at_least_once
        if not may_repeat and not (isinstance(error, _IN_TRANSIT) and not error.request_sent):
            return None
        retry_after = (
            error.retry_after if isinstance(error, LimitExceededError | ServerError) else None
        )
        delay = self.delay(attempt, retry_after)
        if retry_after is not None and delay > time_left:
            return None
        return delay


def _check_limit(name: str, value: object, *, none_ok: bool = False) -> None:
    if none_ok and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        wanted = "an int of at least 1" + (", or None for no limit" if none_ok else "")
        raise InvalidArgumentError(f"{name} must be {wanted}, not {value!r}")


def is_transient(error: MomentoError) -> bool:
    """Whether a failure may pass with a retry: the one definition.

    Connection errors, timeouts, `429`, `5xx`, and malformed answers (a proxy or a cut
    connection can garble one answer) are transient, except an answer too large (it would
    be as large again) and a refused certificate; every other status is not.

    Args:
        error: The failure.

    Returns:
        True when a retry may succeed.
    """
    if isinstance(error, MalformedResponseError):
        return not error.too_large
    if isinstance(error, CertificateError):
        return False
    if isinstance(error, _IN_TRANSIT | LimitExceededError):
        return True
    return (
        isinstance(error, ServerError)
        and error.status_code is not None
        and httpx.codes.is_server_error(error.status_code)
    )
