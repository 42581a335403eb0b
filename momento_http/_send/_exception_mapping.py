"""Exception mapping: another library's failure, turned into this SDK's exception in plain words.

What comes out is a new `MomentoError` raised with no `__cause__` or `__context__`:
httpx's exceptions carry the request, whose URL and headers hold the token. The foreign
message is kept only as a scrubbed detail.
"""

from __future__ import annotations

import enum
import ssl
from collections.abc import Callable
from typing import Final

import anyio
import httpx

from momento_http._errors import (
    CertificateError,
    MomentoConnectionError,
    MomentoError,
    MomentoTimeoutError,
)
from momento_http._families import FAILURES, httpx_kind
from momento_http._transport import RequestState

__all__ = ["FOREIGN_FAILURES", "Phase", "deadline_passed", "translate"]

FOREIGN_FAILURES: Final[tuple[type[BaseException], ...]] = (
    *FAILURES,  # httpx's, and httpx2's where it is installed
    OSError,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    RuntimeError,  # an http_client used after its event loop ended: see `translate`
)
"""What `translate` turns into a `MomentoError`; anything else is the caller's own bug."""

# A RuntimeError is the socket layer's only when an event loop raised it: "Event loop is
# closed" (asyncio, uvloop), "no running event loop" (asyncio), "must be called from async
# context" (trio), all from a connection kept from a loop that has ended. A RuntimeError
# raised anywhere else is a bug: in an event hook, a transport, or a RecursionError.
_EVENT_LOOPS: Final = frozenset({"asyncio", "uvloop", "trio", "anyio", "sniffio"})

_MAX_DETAIL_CHARS: Final = 200


class Phase(enum.Enum):
    """How far a try got."""

    SENDING = "sending"
    """Connecting, writing the request, or waiting for the answer's head."""
    READING = "reading"
    """Reading the answer's body."""


_NEVER_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_LEADS: Final[tuple[tuple[type[BaseException], str], ...]] = (
    (httpx.ConnectTimeout, "connecting to the server took too long"),
    (httpx.PoolTimeout, "no connection became free in time"),
    (httpx.ConnectError, "could not connect to the server"),
    (httpx.ProxyError, "the proxy failed the connection"),
    (httpx.UnsupportedProtocol, "the http_client's transport does not support this URL"),
    (httpx.WriteError, "the connection failed while sending the request"),
    (httpx.WriteTimeout, "sending the request took too long"),
    (httpx.ReadTimeout, "the answer took too long"),
    (httpx.LocalProtocolError, "the request could not be sent"),
    (
        RuntimeError,
        "the http_client refused the request (an httpx.AsyncClient belongs to "
        "the event loop it was first used in: make it in the loop that uses it)",
    ),
)


def _raised_by_an_event_loop(failure: RuntimeError) -> bool:
    """Whether the innermost frame of the failure's traceback is an event loop's."""
    if isinstance(failure, RecursionError):
        return False
    where = failure.__traceback__
    if where is None:
        return False
    while where.tb_next is not None:
        where = where.tb_next
    module = where.tb_frame.f_globals.get("__name__")
    return isinstance(module, str) and module.partition(".")[0] in _EVENT_LOOPS


def _lead(kind: type[BaseException], phase: Phase) -> str:
    for named, lead in _LEADS:
        if issubclass(kind, named):
            return lead
    if phase is Phase.READING:
        return "the connection failed before the answer was complete"
    return "the connection failed before the server answered"


def translate(
    failure: BaseException,
    *,
    phase: Phase,
    state: RequestState,
    method: str,
    url: httpx.URL,
    scrub: Callable[[str], str],
) -> MomentoError:
    """This SDK's exception for a failure from httpx or httpx2, a transport, or the socket.

    Args:
        failure: One of `FOREIGN_FAILURES`.
        phase: How far the try got.
        state: The request's state, which tells whether it was written.
        method: The request's method.
        url: The request's URL.
        scrub: Hides the client's tokens in the foreign message.

    Returns:
        A `MomentoTimeoutError` or `MomentoConnectionError` (raise it outside any `except`
        block, so that the foreign exception is not its context). `request_sent` is False
        only when the request provably never left.

    Raises:
        RuntimeError: The failure itself, when no event loop raised it (a bug in an event
            hook or a transport, a RecursionError): it is the caller's own, not retried.
    """
    kind = httpx_kind(failure)  # an httpx2 failure is judged as its httpx namesake
    if (
        isinstance(failure, RuntimeError)
        and not issubclass(kind, httpx.StreamError)
        and not _raised_by_an_event_loop(failure)
    ):
        raise failure
    detail = scrub(" ".join(str(failure).split()))[:_MAX_DETAIL_CHARS]
    if state.taken and detail:  # MomentoTransport's messages are written to be shown
        message = detail
    else:
        lead = _lead(kind, phase)
        message = f"{lead} ({type(failure).__name__}: {detail})" if detail else lead
    sent = not (issubclass(kind, _NEVER_SENT) or state.never_sent)
    if _certificate_refused(failure):
        return CertificateError(message, request_sent=False, method=method, url=url)
    if issubclass(kind, httpx.TimeoutException):
        return MomentoTimeoutError(message, request_sent=sent, method=method, url=url)
    return MomentoConnectionError(message, request_sent=sent, method=method, url=url)


def _certificate_refused(failure: BaseException) -> bool:
    """Whether a TLS certificate verification failure is behind `failure` (its causes)."""
    seen: BaseException | None = failure
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def deadline_passed(
    seconds: float, *, phase: Phase, state: RequestState, method: str, url: httpx.URL
) -> MomentoTimeoutError:
    """The exception for a try that reached its deadline.

    Args:
        seconds: The deadline, in seconds from the try's start.
        phase: How far the try got.
        state: The request's state, which tells whether it was written.
        method: The request's method.
        url: The request's URL.

    Returns:
        The timeout error to raise.
    """
    if phase is Phase.READING:
        message = f"the answer did not complete within {seconds:g} s"
    else:
        message = f"no answer within {seconds:g} s"
    sent = not state.never_sent
    return MomentoTimeoutError(message, request_sent=sent, method=method, url=url)
