"""What the SDK tells the transport about one request, and what the transport tells back.

Every request the SDK sends carries a `RequestState` in its extensions (`REQUEST_STATE`).
`MomentoTransport` reads it: the state's deadline bounds every wait of the try, a state with
a `DedicatedConnection` is carried over that connection rather than the shared pool, and the
transport notes how far the exchange got. Any other transport ignores the extension, and the
SDK then assumes the worst: that the request may have reached the server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

import anyio

__all__ = ["REQUEST_STATE", "DedicatedConnection", "RequestState", "current_time"]

REQUEST_STATE: Final = "momento_http.request_state"
"""The request extension holding the `RequestState`."""


class DedicatedConnection:
    """A claim to a connection of its own, for one subscription's polls.

    A long poll holds its connection while it waits; polls sharing the client's pool would
    starve `get` and `set` of connections. `MomentoTransport` opens the dedicated connection
    on first use and closes it when the claim closes.

    Args:
        on_send_started: Called as each of its requests is about to be written, by a
            transport that keeps request states (one that attaches itself to the claim).
    """

    __slots__ = ("_close", "_holder", "_on_send_started")

    def __init__(self, on_send_started: Callable[[], None] | None = None) -> None:
        self._holder: object | None = None
        self._close: Callable[[], Awaitable[None]] | None = None
        self._on_send_started = on_send_started

    @property
    def holder(self) -> object | None:
        """What the transport attached to carry the requests, if anything yet."""
        return self._holder

    def attach(self, holder: object, close: Callable[[], Awaitable[None]]) -> None:
        """Attach what carries the requests (the transport's pool of one); closed with this.

        Args:
            holder: What carries the requests; only the transport reads it.
            close: Closes it.
        """
        self._holder, self._close = holder, close

    def send_started(self) -> None:
        """Note that one of its requests is about to be written."""
        if self._on_send_started is not None:
            self._on_send_started()

    async def aclose(self) -> None:
        """Close the connection, if it was opened. Safe to repeat."""
        close, self._close, self._holder = self._close, None, None
        if close is not None:
            await close()


def current_time() -> float:
    """The event loop's clock, which deadlines are set on: `anyio.current_time()`, sooner."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:  # not asyncio
        return anyio.current_time()


class RequestState:
    """One try's state: its deadline, its connection, and how far the exchange got.

    Attributes:
        dedicated: The dedicated connection to carry the request, or None for the pool.
        deadline: When (on `current_time()`'s clock) the transport gives up on the try, if
            the transport keeps it; None when the caller does.
        taken: Set by a transport that keeps request states, as it takes the request.
        response_started: Set as the first byte of the answer arrives.
        timed_out: Set when the transport gave up because the deadline came.
    """

    __slots__ = ("_send_started", "deadline", "dedicated", "response_started", "taken", "timed_out")

    def __init__(
        self, dedicated: DedicatedConnection | None = None, deadline: float | None = None
    ) -> None:
        self.dedicated = dedicated
        self.deadline = deadline
        self.taken = False
        self._send_started = False
        self.response_started = False
        self.timed_out = False

    @property
    def send_started(self) -> bool:
        """Whether the first byte of the request is written, or about to be."""
        return self._send_started

    def start_sending(self) -> None:
        """Note that the first byte of the request is about to be written."""
        self._send_started = True
        if self.dedicated is not None:
            self.dedicated.send_started()

    def limit(self, within: float | None) -> tuple[float | None, bool]:
        """How long a wait may last: `within` seconds, or less if the deadline comes first.

        Args:
            within: The wait's own limit (one of httpx's timeouts), if any.

        Returns:
            The seconds (None for no limit; 0 once the deadline has passed), and whether the
            deadline is what sets them.
        """
        if self.deadline is None:
            return within, False
        left = max(self.deadline - current_time(), 0.0)
        if within is None or left <= within:
            return left, True
        return within, False

    @property
    def never_sent(self) -> bool:
        """Whether the server cannot have seen the request: tracked, and nothing written."""
        return self.taken and not self._send_started
