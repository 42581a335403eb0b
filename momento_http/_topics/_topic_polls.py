"""TopicPolls: one subscription's long polls, sent on a connection of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import httpx

from momento_http._config import TryTimeout
from momento_http._errors import MomentoConnectionError, MomentoError, MomentoTimeoutError
from momento_http._logs import LOGGER
from momento_http._retry import RetryPolicy
from momento_http._send import Answer, Call, Sender
from momento_http._topics._models import TopicEvent
from momento_http._topics._outage import OutageLog
from momento_http._topics._poll_parsing import parse_poll
from momento_http._topics._quiet import QuietBackoff
from momento_http._topics._subscription_stats import PollCounters, SubscriptionStats
from momento_http._transport import DedicatedConnection, current_time

__all__ = ["MAX_POLL_BYTES", "TopicPolls"]

MAX_POLL_BYTES: Final = 16 * 1024 * 1024
"""The largest poll answer read; a bigger one is a malformed answer."""

_ACCEPT: Final = frozenset({httpx.codes.OK, httpx.codes.NO_CONTENT})

_QUIET_DEFAULT: Final = RetryPolicy()
"""Whose delays space quiet answers when retries are off: spinning is no better then."""


def _events(answer: Answer | None) -> list[TopicEvent]:
    """The events of a poll answer; none for a `204` or a poll whose time passed."""
    if answer is None or answer.status == httpx.codes.NO_CONTENT:
        return []
    return parse_poll(answer.body)


def _may_have_arrived(error: MomentoError) -> bool:
    """Whether a failed poll may have reached the server (and its answer been lost)."""
    if isinstance(error, MomentoConnectionError | MomentoTimeoutError):
        return error.request_sent
    return True  # answered, or refused in a way that ends the subscription


def _nothing() -> None:
    pass


class TopicPolls:
    """Sends one subscription's polls.

    Each poll goes through the client's one send path, so it is retried, bounded and
    mapped like any call: for as long as it fails, or until `retry.max_poll_failures`
    failures in a row raise. A run of failures is logged at WARNING (`warns_at`), and its
    end, once a poll is answered again, at INFO. Its requests
    carry a `DedicatedConnection`: on `MomentoTransport` they travel over a connection of
    their own, so a thousand waiting polls never hold the connections `get` and `set`
    need, and it hears as each is written. Each try is counted (`stats`). A poll answered
    at once with nothing new is followed by a backoff (`QuietBackoff`), with the retry
    policy's delays (the default policy's when retries are off).

    Args:
        sender: The client's send path.
        cache: The cache name, for the log.
        topic: The topic name, for the log.
        path: The topic's path, percent-encoded.
        timeout: How long connecting may take, and reading an answer once it began.
        poll_timeout: Seconds an answer may take to begin, after connecting.
        retry: The retry policy, or None for no retries.
    """

    def __init__(
        self,
        sender: Sender,
        *,
        cache: str,
        topic: str,
        path: str,
        timeout: TryTimeout,
        poll_timeout: float,
        retry: RetryPolicy | None,
    ) -> None:
        self._sender = sender
        self._where = f"subscription to {cache!r}/{topic!r}"
        self._path = path
        self._timeout = timeout
        self._wait = poll_timeout + (timeout.phases.get("connect") or timeout.seconds)
        self._retry = retry
        self._quiet = QuietBackoff(retry or _QUIET_DEFAULT)
        self._took = 0.0  # seconds the last poll took, from sending to its answer
        self._dedicated = DedicatedConnection(on_send_started=self._written)
        self._counters = PollCounters()
        self._on_written: Callable[[], None] = _nothing
        self._on_unanswered: Callable[[], None] = _nothing
        self._written_now = False  # the current try's request was written
        self._lost_one = False  # the last failed try may have reached the server
        self._query: dict[str, str] = {}  # the position the current poll asks from
        self._limit = retry.max_poll_failures if retry is not None else 1  # None: no limit
        self._outage = OutageLog(
            self._where,
            self._describe,
            limit=self._limit,
            max_delay=(retry or _QUIET_DEFAULT).max_delay,
            clock=current_time,
        )

    @property
    def reports_writes(self) -> bool:
        """Whether the transport tells when a poll is written: it attached itself."""
        return self._dedicated.holder is not None

    @property
    def stats(self) -> SubscriptionStats:
        """The counts of polls, failures and resumes so far."""
        return self._counters.snapshot()

    @property
    def client_closed(self) -> bool:
        """Whether the client the polls go through was closed: polls fail from then on."""
        return self._sender.closed

    def watch(self, *, written: Callable[[], None], unanswered: Callable[[], None]) -> None:
        """Be told as each poll is written, and of each whose answer may have been lost.

        Args:
            written: Called as a poll's request is about to be written (on a transport
                that `reports_writes`).
            unanswered: Called when a poll that may have reached the server ended without
                its answer: it failed, or was cancelled after it was written (or, on a
                transport that does not report writes, at any point).
        """
        self._on_written, self._on_unanswered = written, unanswered

    def _written(self) -> None:
        self._written_now = True
        self._on_written()

    def heard(self, *, news: bool) -> None:
        """Be told whether the last poll's answer brought anything the caller had not seen.

        Args:
            news: True when it did; an answer with nothing new that came at once is
                followed by a backoff.
        """
        self._quiet.answered(news=news, took=self._took)

    def _failed(self, error: MomentoError, delay: float | None) -> None:
        """One try failed: count it, and tell if its answer may have been lost."""
        self._counters.failed(error, retried=delay is not None)
        self._written_now = False
        self._lost_one = _may_have_arrived(error)
        if self._lost_one:
            self._on_unanswered()
        self._outage.failed(error, self._counters.in_a_row, retried=delay is not None)

    def _describe(self) -> str:
        """Where the subscription resumes from, for a log line."""
        position = ", ".join(f"{name} {value}" for name, value in self._query.items())
        if not position:  # no position: "0" would read as a real one
            position = "the next message published"
            if self._lost_one:
                position += " (its start is now unknown: a Discontinuity will say so)"
        return f"{self._where} resumes from {position}"

    async def poll(self, query: dict[str, str]) -> list[TopicEvent]:
        """Send one poll, retrying transient failures.

        Args:
            query: The poll's query parameters: the position to read from.

        Returns:
            The events the answer holds; none when nothing came in time. After an answer
            that came at once with nothing new (see `heard`), a backoff is waited first.

        Raises:
            MomentoError: The poll failed `max_poll_failures` times in a row, or was
                refused in a way a retry cannot fix.
        """
        self._query = query
        call = Call(
            "GET",
            self._path,
            query,
            decode=_events,
            timeout=self._timeout,
            retry=self._retry,
            limit=self._limit,
            accept=_ACCEPT,
            max_bytes=MAX_POLL_BYTES,
            dedicated=self._dedicated,
            wait=self._wait,
            describe=self._describe,
            on_failure=self._failed,
        )
        if self._quiet.owed is not None:
            LOGGER.debug(
                "%s: answered at once with nothing new; polling again in %.2f s",
                self._where,
                self._quiet.owed,
            )
            await self._quiet.wait()
        self._written_now = False
        started = current_time()
        try:
            events = await self._sender.send(call)
        except MomentoError:
            raise  # counted and told by `_failed`
        except BaseException:  # cancelled: its answer, if one came, is lost
            if self._written_now or not self.reports_writes:
                self._on_unanswered()
            raise
        self._outage.answered(self._counters.in_a_row)
        self._counters.answered()
        self._took = current_time() - started
        return events

    async def aclose(self) -> None:
        """Close the subscription's connection."""
        await self._dedicated.aclose()
