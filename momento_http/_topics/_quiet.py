"""Spacing a subscription's polls when the server answers them at once with nothing new."""

from __future__ import annotations

from momento_http._retry import RetryPolicy

__all__ = ["QuietBackoff"]


class QuietBackoff:
    """When the next poll may go, after answers that brought nothing new.

    A healthy long poll is held by the server until there is something to send or its
    hold time ends. An answer with nothing new (no items, a `204`, heartbeats only,
    messages already yielded) that comes back within the retry policy's `base_delay` came
    "at once": a server answering every poll so would have the subscription spin. After
    each such answer the next poll waits the policy's backoff for the number of them in a
    row (`RetryPolicy.delay`: capped exponential, full jitter). Anything new, or an
    answer the server held for `base_delay` or longer, starts the count anew: a healthy
    long poll is never delayed.

    Args:
        policy: Whose delays, and whose `sleep`, to use.
    """

    __slots__ = ("_owed", "_policy", "_quick")

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._quick = 0  # answers at once with nothing new, in a row
        self._owed: float | None = None

    @property
    def owed(self) -> float | None:
        """Seconds the next poll must wait, or None to go at once."""
        return self._owed

    def answered(self, *, news: bool, took: float) -> None:
        """Note how a poll's answer went.

        Args:
            news: Whether it brought anything the caller had not seen.
            took: Seconds from sending the poll to its answer.
        """
        if news or took >= self._policy.base_delay:
            self._quick, self._owed = 0, None
        else:
            self._quick += 1
            self._owed = self._policy.delay(self._quick)

    async def wait(self) -> None:
        """Wait what is owed, if anything, through the policy's `sleep`."""
        owed, self._owed = self._owed, None
        if owed is not None:
            await self._policy.sleep(owed)
