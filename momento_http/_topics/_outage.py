"""An outage a subscription rides out, told in the log: louder as it lasts, and its end."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from momento_http._errors import MomentoError
from momento_http._logs import LOGGER

__all__ = ["WARN_AFTER", "OutageLog", "warns_at"]

WARN_AFTER: Final = 3
"""Failed polls in a row before the first WARNING.

One failure is routine (a connection dropped while idle, a deploy, a proxy's `503`) and
is logged at INFO as a resume. At 3 in a row a `get` or `set` with the default policy
(`max_attempts=3`) would have raised; the subscription, which does not, says so louder.
"""

_WARN_GAP: Final = 128 * WARN_AFTER
"""The most failed polls between two WARNINGs of one outage: 384, about a quarter of an
hour where each poll fails at once and the backoff averages half of `max_delay` (5 s)."""


def warns_at(in_a_row: int) -> bool:
    """Whether the failed poll that makes `in_a_row` failures in a row gets a WARNING.

    The 3rd, then each time the count doubles (6th, 12th, … 384th), then every 384th: a
    short outage fills no page of the log, and a long one stays in its latest quarter hour.

    Args:
        in_a_row: Failed polls in a row, this one included.

    Returns:
        True for the failures that get a WARNING.
    """
    if in_a_row < WARN_AFTER or in_a_row % WARN_AFTER:
        return False
    doublings = in_a_row // WARN_AFTER
    return doublings & (doublings - 1) == 0 or in_a_row % _WARN_GAP == 0


class OutageLog:
    """Logs a subscription's failed polls in a row: WARNINGs as they go on, INFO at the end.

    Each failure is also logged at INFO by the send path, as a resume; these lines say
    how long the run is, so that an outage can be seen, and seen to end, at WARNING.

    Args:
        name: The subscription, for the log: "subscription to 'cache'/'topic'".
        resumes: Where it resumes from, with its name, for the log (called only to log).
        limit: `max_poll_failures`: None when the subscription retries for as long as it
            takes.
        max_delay: The cap on the backoff between polls, for the log.
        clock: The event loop's clock, to tell how long an outage lasted.
    """

    __slots__ = ("_began", "_clock", "_limit", "_max_delay", "_name", "_resumes")

    def __init__(
        self,
        name: str,
        resumes: Callable[[], str],
        *,
        limit: int | None,
        max_delay: float,
        clock: Callable[[], float],
    ) -> None:
        self._name = name
        self._resumes = resumes
        self._clock = clock
        self._limit = limit
        self._max_delay = max_delay
        self._began = 0.0  # when the first failure of the run came

    def failed(self, error: MomentoError, in_a_row: int, *, retried: bool) -> None:
        """A poll failed, the `in_a_row`th in a row; `retried` when another follows."""
        if in_a_row == 1:
            self._began = self._clock()
        if retried and warns_at(in_a_row) and LOGGER.isEnabledFor(logging.WARNING):
            until = "for as long as it takes"
            if self._limit is not None:
                until = f"until {self._limit} have failed"
            LOGGER.warning(
                "%s: %d polls in a row failed, the last with %s: %s; retrying %s, "
                "at most %.1f s apart",
                self._resumes(),
                in_a_row,
                type(error).__name__,
                error.message,
                until,
                self._max_delay,
            )

    def answered(self, in_a_row: int) -> None:
        """A poll was answered after `in_a_row` failed ones: say so if a WARNING did."""
        if in_a_row >= WARN_AFTER:
            LOGGER.info(
                "%s is back: a poll was answered after %d failed in a row (%.1f s)",
                self._name,
                in_a_row,
                self._clock() - self._began,
            )
