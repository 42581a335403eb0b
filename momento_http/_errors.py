"""The exception tree and the one mapping from HTTP status to exception.

```
MomentoError
├── InvalidArgumentError (also ValueError)   400, 413, and validation before any request
├── AuthenticationError                      401
├── PermissionDeniedError                    403
├── CacheNotFoundError                       404 naming the cache
├── LimitExceededError                       429, with retry_after
├── ServerError                              5xx, and any other unexpected status
├── MomentoTimeoutError                      the request did not finish in time
├── MomentoConnectionError                   the server could not be reached
└── ClientClosedError                        the client was used after aclose()
```

Every exception carries the request's method and URL with the token redacted, so an error
can be logged as it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from momento_http._redaction import redact_url

__all__ = [
    "AuthenticationError",
    "CacheNotFoundError",
    "ClientClosedError",
    "InvalidArgumentError",
    "LimitExceededError",
    "MomentoConnectionError",
    "MomentoError",
    "MomentoTimeoutError",
    "PermissionDeniedError",
    "ServerError",
    "error_from_response",
    "transport_errors",
]

_MAX_MESSAGE_CHARS = 500


class MomentoError(Exception):
    """The root of every error this SDK raises.

    Attributes:
        message: What went wrong, in words; for a server error, the server's own message.
        status_code: The HTTP status of the response, or None when there was none.
        method: The HTTP method of the request, or None for client-side validation.
        url: The request URL with the token redacted, or None for client-side validation.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        method: str | None = None,
        url: httpx.URL | str | None = None,
    ) -> None:
        self.message: str = message
        self.status_code: int | None = status_code
        self.method: str | None = method
        self.url: str | None = None if url is None else redact_url(url)
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [self.message]
        if self.method is not None and self.url is not None:
            parts.append(f"({self.method} {self.url}")
            parts[-1] += f" -> {self.status_code})" if self.status_code is not None else ")"
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()!r})"


class InvalidArgumentError(MomentoError, ValueError):
    """The request was malformed or too large (400, 413), or was refused before sending."""


class AuthenticationError(MomentoError):
    """The token is invalid or expired (401)."""


class PermissionDeniedError(MomentoError):
    """The token does not grant the permission the request needs (403)."""


class CacheNotFoundError(MomentoError):
    """The cache named in the request does not exist (404 naming the cache)."""


class LimitExceededError(MomentoError):
    """An account limit was exceeded (429).

    Attributes:
        retry_after: Seconds the server asked the client to wait, when it said so.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status_code: int | None = None,
        method: str | None = None,
        url: httpx.URL | str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status_code=status_code, method=method, url=url)


class ServerError(MomentoError):
    """The server failed (5xx) or answered with a status this SDK does not expect."""


class _TransportError(MomentoError):
    """A request that failed in transit, with or without reaching the server."""

    def __init__(
        self,
        message: str,
        *,
        request_sent: bool = True,
        method: str | None = None,
        url: httpx.URL | str | None = None,
    ) -> None:
        self.request_sent = request_sent
        super().__init__(message, method=method, url=url)


class MomentoTimeoutError(_TransportError):
    """The request did not complete within its timeout.

    Attributes:
        request_sent: False when it timed out before a connection was made, so the server
            never saw it.
    """


class MomentoConnectionError(_TransportError):
    """The server could not be reached, or the connection broke mid-request.

    Attributes:
        request_sent: False when no connection could be made, so the server never saw it.
    """


class ClientClosedError(MomentoError):
    """The client was used after it was closed."""


_ERROR_BY_STATUS: dict[int, type[MomentoError]] = {
    400: InvalidArgumentError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: CacheNotFoundError,
    413: InvalidArgumentError,  # the item or message is over the size limit
}


def _parse_retry_after(value: str | None) -> float | None:
    """Read a `Retry-After` header given in seconds; dates and junk count as absent."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _server_message(response: httpx.Response) -> str:
    """The response body as a short, printable message."""
    text = response.content[: _MAX_MESSAGE_CHARS * 4].decode("utf-8", errors="replace").strip()
    if len(text) > _MAX_MESSAGE_CHARS:
        text = text[:_MAX_MESSAGE_CHARS] + "…"
    return text or response.reason_phrase or f"HTTP {response.status_code}"


def error_from_response(response: httpx.Response) -> MomentoError:
    """Build the exception for an error response: the one status-to-exception mapping.

    The response body must already be read.

    Args:
        response: A response whose status is not a success.

    Returns:
        The exception to raise, carrying the status, the server's message, and the request's
        method and redacted URL.
    """
    request = response.request
    status = response.status_code
    message = _server_message(response)
    if status == 429:  # noqa: PLR2004
        return LimitExceededError(
            message,
            retry_after=_parse_retry_after(response.headers.get("retry-after")),
            status_code=status,
            method=request.method,
            url=request.url,
        )
    error_type = _ERROR_BY_STATUS.get(status, ServerError)
    return error_type(message, status_code=status, method=request.method, url=request.url)


@contextmanager
def transport_errors(request: httpx.Request) -> Iterator[None]:
    """Turn httpx's transport failures inside the block into this SDK's exceptions.

    Args:
        request: The request being sent.

    Raises:
        MomentoTimeoutError: The request timed out; `__cause__` tells which phase.
        MomentoConnectionError: The connection failed or broke.

    Both say whether the request may have reached the server (`request_sent`).
    """
    try:
        yield
    except httpx.TransportError as error:
        failure = (
            MomentoTimeoutError
            if isinstance(error, httpx.TimeoutException)
            else MomentoConnectionError
        )
        what = "timed out" if failure is MomentoTimeoutError else "failed"
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise failure(
            f"the request {what} ({detail})",
            request_sent=not isinstance(error, _NOT_SENT),
            method=request.method,
            url=request.url,
        ) from error


# Failures that happen before any byte of the request leaves: retrying cannot duplicate it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
