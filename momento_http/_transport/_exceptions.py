"""Exception mapping: a socket operation in time, its failures in httpx's terms and plain words."""

from __future__ import annotations

import os
import socket
import ssl
from types import TracebackType
from typing import Final

import anyio
import httpx

from momento_http._transport._state import RequestState

__all__ = ["ConnectionAttemptsError", "Operation", "plain_reason"]

# RuntimeError: "Event loop is closed", from a socket whose event loop has ended. Only socket
# calls run inside an `Operation`, so it is the socket layer's, never a caller's bug.
_IO_FAILURES: Final = (
    OSError,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    ssl.SSLError,
    RuntimeError,
)


class ConnectionAttemptsError(OSError):
    """Each of a name's addresses was tried, and each attempt failed.

    Args:
        failures: Each address, as written in messages (`[::1]:443`), and its failure.

    Attributes:
        failures: Each address, as written in messages, and its failure.
    """

    def __init__(self, failures: list[tuple[str, OSError]]) -> None:
        super().__init__(f"all {len(failures)} addresses failed")
        self.failures = failures


def plain_reason(failure: BaseException | None) -> str:
    """A short reason for a socket failure, such as "connection refused".

    Args:
        failure: The failure, whose causes are searched too.

    Returns:
        The reason, in lower case.
    """
    while failure is not None:
        if (several := _several(failure)) is not None:
            return several
        if isinstance(failure, ssl.SSLCertVerificationError) and failure.verify_message:
            return f"TLS: certificate verify failed: {failure.verify_message.rstrip('.')}"
        if isinstance(failure, socket.gaierror):
            return f"the name could not be resolved ({failure.strerror or failure.errno})"
        if isinstance(failure, ssl.SSLError) and failure.reason:
            return f"TLS: {failure.reason.lower().replace('_', ' ')}"
        if isinstance(failure, OSError) and failure.errno:
            return os.strerror(failure.errno).lower()
        failure = failure.__cause__ or failure.__context__
    return "the connection broke"


def _several(failure: BaseException) -> str | None:
    """The reasons of a failure made of one per address tried, or None for a single one."""
    if isinstance(failure, ConnectionAttemptsError):
        return "; ".join(f"{address}: {plain_reason(why)}" for address, why in failure.failures)
    grouped = getattr(failure, "exceptions", None)  # an exception group (3.10: the backport's)
    if isinstance(grouped, tuple) and grouped:  # anyio's (the trio path): no addresses kept
        return "; ".join(dict.fromkeys(plain_reason(each) for each in grouped))
    return None


class Operation:
    """A socket operation: bounded in time, its failures turned into httpx's exceptions.

    A class rather than a `@contextmanager`: it runs on every request, and generator-based
    context managers cost more than the step they guard.

    Args:
        within: The operation's own time limit; None for none.
        on_timeout: Raised when the limit is reached.
        on_error: Raised for a socket, TLS or stream failure.
        doing: What the operation is, in words, for the messages.
        state: The request's state: its deadline shortens the limit, and it is marked as
            timed out when the deadline is what ends the operation.
    """

    __slots__ = (
        "_by_deadline",
        "_doing",
        "_on_error",
        "_on_timeout",
        "_scope",
        "_seconds",
        "_state",
    )

    def __init__(
        self,
        within: float | None,
        on_timeout: type[httpx.TimeoutException],
        on_error: type[httpx.TransportError],
        doing: str,
        state: RequestState | None = None,
    ) -> None:
        self._seconds, self._by_deadline = (within, False) if state is None else state.limit(within)
        self._on_timeout = on_timeout
        self._on_error = on_error
        self._doing = doing
        self._state = state
        self._scope: anyio.CancelScope | None = None

    def __enter__(self) -> None:
        if self._seconds is not None:
            self._scope = anyio.CancelScope(deadline=anyio.current_time() + self._seconds)
            self._scope.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if self._scope is not None:
            swallowed = self._scope.__exit__(exc_type, exc, traceback)
            if self._scope.cancelled_caught:  # our own deadline, not an outer cancellation
                if self._by_deadline and self._state is not None:
                    self._state.timed_out = True
                raise self._on_timeout(f"{self._doing} took longer than {self._seconds:g} s")
            if swallowed:
                return True
        if isinstance(exc, _IO_FAILURES):
            raise self._on_error(f"{self._doing} failed: {plain_reason(exc)}") from exc
        return False
