"""What the SDK tells its transport about one request, and what the transport tells back.

Every request the SDK sends carries a `Ticket` in its extensions (`TICKET`). `MomentoTransport`
reads it: a ticket with a `Lane` is carried over that lane's connection of its own rather
than the shared pool, and the transport notes whether any byte of the request was written.
Any other transport ignores the extension, and the SDK then assumes the worst: that the
request may have reached the server.
"""

from __future__ import annotations

from typing import Final, Protocol

__all__ = ["TICKET", "Lane", "Ticket"]

TICKET: Final = "momento_http.ticket"
"""The request extension holding the `Ticket`."""


class _Closeable(Protocol):
    async def aclose(self) -> None: ...


class Lane:
    """A claim to a connection of its own, for one subscription's polls.

    A long poll holds its connection while it waits; polls sharing the client's pool would
    starve `get` and `set` of connections. `MomentoTransport` gives each lane a connection
    of its own on first use and closes it when the lane closes.
    """

    __slots__ = ("_carrier",)

    def __init__(self) -> None:
        self._carrier: _Closeable | None = None

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

    async def aclose(self) -> None:
        """Close the lane's connection, if it has one. Safe to repeat."""
        carrier, self._carrier = self._carrier, None
        if carrier is not None:
            await carrier.aclose()


class Ticket:
    """One request's notes: its lane, and how far the transport got with it.

    Attributes:
        lane: The lane to carry the request, or None for the shared pool.
        seen: Set by a transport that keeps these notes, as it takes the request.
        written: Set as the first byte of the request is about to be written.
        heard: Set as the first byte of the answer arrives.
    """

    __slots__ = ("heard", "lane", "seen", "written")

    def __init__(self, lane: Lane | None = None) -> None:
        self.lane = lane
        self.seen = False
        self.written = False
        self.heard = False

    @property
    def provably_unsent(self) -> bool:
        """Whether the server cannot have seen the request: tracked, and nothing written."""
        return self.seen and not self.written
