"""A try's deadline: kept by an anyio cancel scope, or handed to MomentoTransport.

A cancel scope bounds anything, whatever the transport (and whatever the event hooks of a
caller's `httpx.AsyncClient` do), at ~11 µs a try on asyncio. The SDK's own client runs on
`MomentoTransport` alone, which keeps the deadline from the request's ticket with one
timer per wait (~2 µs): every await of such a try is one of the transport's.
"""

from __future__ import annotations

from types import TracebackType
from typing import Literal

import anyio

from momento_http._ticket import Ticket, current_time

__all__ = ["Deadline", "ScopeDeadline", "TicketDeadline"]


class Deadline:
    """The time limit of one try: entered around it, extendable, and telling if it passed.

    Args:
        ticket: The request's notes.
        seconds: The time the try has, from now.
    """

    __slots__ = ("seconds", "ticket")

    def __init__(self, ticket: Ticket, seconds: float) -> None:
        self.ticket = ticket
        self.seconds = seconds

    def __enter__(self) -> Deadline:
        raise NotImplementedError

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        raise NotImplementedError

    @property
    def expired(self) -> bool:
        """Whether the deadline is what ended the try."""
        raise NotImplementedError

    def extend(self, seconds: float) -> None:
        """Give the try `seconds` more, from now."""
        raise NotImplementedError


class ScopeDeadline(Deadline):
    """A deadline kept by an anyio cancel scope: it bounds any transport and any hook."""

    __slots__ = ("_scope",)

    def __enter__(self) -> Deadline:
        self._scope = anyio.CancelScope(deadline=current_time() + self.seconds)
        self._scope.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        return self._scope.__exit__(exc_type, exc, traceback)

    @property
    def expired(self) -> bool:
        return self._scope.cancelled_caught

    def extend(self, seconds: float) -> None:
        self.seconds = seconds
        self._scope.deadline = current_time() + seconds


class TicketDeadline(Deadline):
    """A deadline `MomentoTransport` keeps, read from the request's ticket."""

    __slots__ = ()

    def __enter__(self) -> Deadline:
        self.ticket.deadline = current_time() + self.seconds
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        return False

    @property
    def expired(self) -> bool:
        return self.ticket.expired

    def extend(self, seconds: float) -> None:
        self.seconds = seconds
        self.ticket.deadline = current_time() + seconds
