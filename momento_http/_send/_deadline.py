"""TryDeadline: the one deadline of a try, from the request's start to the answer's end.

Its time is written into the request state, where `MomentoTransport` keeps it at every wait
(connecting, writing, reading), whatever the server sends. A caller's `httpx.AsyncClient`
may run on another transport, or run event hooks that wait: there an anyio cancel scope
keeps the same deadline too (~11 µs a try on asyncio, which the SDK's own client spares).
"""

from __future__ import annotations

from types import TracebackType

import anyio

from momento_http._transport import RequestState, current_time

__all__ = ["TryDeadline"]


class TryDeadline:
    """The time limit of one try: entered around it, extendable, and telling if it passed.

    Args:
        state: The request's state, which carries the deadline to the transport.
        seconds: The time the try has, from now.
        scope: Keep the deadline with a cancel scope too, for a transport that does not
            read the request state.

    Attributes:
        started: When the try began (on `current_time()`'s clock), once entered.
    """

    __slots__ = ("_scope", "seconds", "started", "state")

    def __init__(self, state: RequestState, seconds: float, *, scope: bool) -> None:
        self.state = state
        self.seconds = seconds
        self._scope = anyio.CancelScope() if scope else None
        self.started = 0.0

    def __enter__(self) -> TryDeadline:
        self.started = current_time()
        self.state.deadline = self.started + self.seconds
        if self._scope is not None:
            self._scope.deadline = self.state.deadline
            self._scope.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if self._scope is None:
            return False
        return self._scope.__exit__(exc_type, exc, traceback)

    @property
    def expired(self) -> bool:
        """Whether the deadline is what ended the try."""
        return self.state.timed_out or (self._scope is not None and self._scope.cancelled_caught)

    def extend(self, seconds: float) -> None:
        """Give the try `seconds` more, from now."""
        self.seconds = seconds
        self.state.deadline = current_time() + seconds
        if self._scope is not None:
            self._scope.deadline = self.state.deadline
