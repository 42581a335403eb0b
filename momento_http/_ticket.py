"""What the SDK tells its transport about one request, and what the transport tells back.

Every request the SDK sends carries a `Ticket` in its extensions (`TICKET`). `MomentoTransport`
reads it: a ticket with a `Lane` is carried over that lane's connection of its own rather
than the shared pool, and the transport notes whether any byte of the request was written.
Any other transport ignores the extension, and the SDK then assumes the worst: that the
request may have reached the server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final, Protocol

import anyio

__all__ = ["TICKET", "Lane", "Ticket", "current_time"]

TICKET: Final = "momento_http.ticket"
"""The request extension holding the `Ticket`."""


class _Closeable(Protocol):
    async def aclose(self) -> None: ...


class Lane:
    """A claim to a connection of its own, for one subscription's polls.

    A long poll holds its connection while it waits; polls sharing the client's pool would
    starve `get` and `set` of connections. `MomentoTransport` gives each lane a connection
    of its own on first use and closes it when the lane closes.

    Args:
        on_written: Called as each of the lane's requests is about to be written, by a
            transport that keeps tickets' notes (one that attaches itself to the lane).
    """

    __slots__ = ("_carrier", "_on_written")

    def __init__(self, on_written: Callable[[], None] | None = None) -> None:
        self._carrier: _Closeable | None = None
        self._on_written = on_written

    @property
    def carrier(self) -> object | None:
        """What the transport attached to carry this lane's requests, if anything yet."""
        return self._carrier

    def attach(self, carrier: _Closeable) -> None:
        """Attach what carries this lane's requests; closed with the lane.

        Args:
            carrier: The transport's pool of one connection.
        """
        self._carrier = carrier

    def wrote(self) -> None:
        """Note that one of the lane's requests is about to be written."""
        if self._on_written is not None:
            self._on_written()

    async def aclose(self) -> None:
        """Close the lane's connection, if it has one. Safe to repeat."""
        carrier, self._carrier = self._carrier, None
        if carrier is not None:
            await carrier.aclose()


def current_time() -> float:
    """The event loop's clock, which deadlines are set on: `anyio.current_time()`, sooner."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:  # not asyncio
        return anyio.current_time()


class Ticket:
    """One request's notes: its lane, its deadline, and how far the transport got with it.

    Attributes:
        lane: The lane to carry the request, or None for the shared pool.
        deadline: When (on `current_time()`'s clock) the transport must give up, if it
            keeps the deadline; None when the caller keeps it.
        seen: Set by a transport that keeps these notes, as it takes the request.
        written: Set as the first byte of the request is about to be written; a lane's
            ticket tells the lane (`Lane.wrote`), so a subscription knows its poll left.
        heard: Set as the first byte of the answer arrives.
        expired: Set when the transport gave up because the deadline came.
    """

    __slots__ = ("_written", "deadline", "expired", "heard", "lane", "seen")

    def __init__(self, lane: Lane | None = None, deadline: float | None = None) -> None:
        self.lane = lane
        self.deadline = deadline
        self.seen = False
        self._written = False
        self.heard = False
        self.expired = False

    @property
    def written(self) -> bool:
        """Whether the first byte of the request is written, or about to be."""
        return self._written

    @written.setter
    def written(self, value: bool) -> None:
        self._written = value
        if value and self.lane is not None:
            self.lane.wrote()

    def limit(self, within: float | None) -> tuple[float | None, bool]:
        """How long a wait may last: `within` seconds, or less if the deadline comes first.

        Args:
            within: The wait's own limit, if any.

        Returns:
            The seconds (None for no limit), and whether the deadline is what sets them.
        """
        if self.deadline is None:
            return within, False
        left = max(self.deadline - current_time(), 0.0)
        if within is None or left <= within:
            return left, True
        return within, False

    @property
    def provably_unsent(self) -> bool:
        """Whether the server cannot have seen the request: tracked, and nothing written."""
        return self.seen and not self._written
