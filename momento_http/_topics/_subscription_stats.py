"""A subscription's health, counted where its polls are tried, for a service to export."""

from __future__ import annotations

from dataclasses import dataclass

from momento_http._errors import MomentoError

__all__ = ["PollCounters", "SubscriptionStats"]


@dataclass(frozen=True, slots=True)
class SubscriptionStats:
    """How a subscription's polls went, from its start: `Subscription.stats`.

    A poll cut short by cancellation or by closing the subscription counts as nothing.

    Attributes:
        polls: Polls that ended: answered (with messages or none) or failed.
        failures: Polls that failed: connection errors, timeouts, `429`, `5xx`, malformed
            answers, and errors raised to the caller.
        resumes: Failed polls followed by another from the same position (each is logged
            at INFO on the `momento_http` logger, with its reason and position).
        last_error_type: The name of the last failure's exception class, such as
            `"MomentoConnectionError"`; None while no poll has failed.
        failures_in_a_row: Polls failed since the last one answered: 0 while the
            subscription is healthy, growing through an outage it rides out; a health
            check can alert on it.
    """

    polls: int = 0
    failures: int = 0
    resumes: int = 0
    last_error_type: str | None = None
    failures_in_a_row: int = 0


class PollCounters:
    """The running counts behind `SubscriptionStats`."""

    __slots__ = ("failures", "in_a_row", "last_error_type", "polls", "resumes")

    def __init__(self) -> None:
        self.polls = 0
        self.failures = 0
        self.resumes = 0
        self.last_error_type: str | None = None
        self.in_a_row = 0

    def answered(self) -> None:
        """A poll ended with an answer, or with none in time."""
        self.polls += 1
        self.in_a_row = 0

    def failed(self, error: MomentoError, *, retried: bool) -> None:
        """A poll failed; `retried` when another follows from the same position."""
        self.polls += 1
        self.failures += 1
        self.resumes += retried
        self.last_error_type = type(error).__name__
        self.in_a_row += 1

    def snapshot(self) -> SubscriptionStats:
        """The counts now."""
        return SubscriptionStats(
            self.polls, self.failures, self.resumes, self.last_error_type, self.in_a_row
        )
