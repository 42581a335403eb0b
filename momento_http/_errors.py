"""The exception tree: every error the SDK raises derives from `MomentoError`.

```
MomentoError
├── InvalidArgumentError (also ValueError)   400, 413, and validation before any request
├── AuthenticationError                      401
├── PermissionDeniedError                    403
├── CacheNotFoundError                       404 naming the cache
├── LimitExceededError                       429, with retry_after
├── ServerError                              5xx, and any other unexpected status
│   └── MalformedResponseError               an answer unreadable, too large, or compressed
├── MomentoTimeoutError                      the request did not finish in time
├── MomentoConnectionError                   the server could not be reached
│   └── CertificateError                     its TLS certificate was refused
└── ClientClosedError                        the client was used after aclose()
```

Every exception carries the request's method and URL with the token redacted, so an error
can be logged as it is.
"""

from __future__ import annotations

import httpx

from momento_http._redaction import redact_url

__all__ = [
    "AuthenticationError",
    "CacheNotFoundError",
    "CertificateError",
    "ClientClosedError",
    "InvalidArgumentError",
    "LimitExceededError",
    "MalformedResponseError",
    "MomentoConnectionError",
    "MomentoError",
    "MomentoTimeoutError",
    "PermissionDeniedError",
    "ServerError",
]


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


class _TemporaryError(MomentoError):
    """A refusal that may pass with time, and how long the server asked to wait."""

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


class LimitExceededError(_TemporaryError):
    """An account limit was exceeded (429).

    Attributes:
        retry_after: Seconds the server asked the client to wait, when it said so.
    """


class ServerError(_TemporaryError):
    """The server failed (5xx) or answered with a status this SDK does not expect.

    Attributes:
        retry_after: Seconds the server asked the client to wait (a 503's `Retry-After`),
            when it said so.
    """


class MalformedResponseError(ServerError):
    """The answer is not what the API defines: unreadable, too large, or compressed unasked.

    Retried like a server failure, since a proxy or a cut connection can garble one answer;
    except an answer too large, which a retry would only fetch again.

    Attributes:
        too_large: True when the answer is longer than the call may read
            (`max_response_bytes`, for a `get`).
    """

    def __init__(
        self,
        message: str,
        *,
        too_large: bool = False,
        status_code: int | None = None,
        method: str | None = None,
        url: httpx.URL | str | None = None,
    ) -> None:
        self.too_large = too_large
        super().__init__(message, status_code=status_code, method=method, url=url)


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


class CertificateError(MomentoConnectionError):
    """The server's TLS certificate was refused; not retried, since it would be again.

    Expired, for another host, or signed by an authority the client does not trust: the
    message says which.

    Attributes:
        request_sent: Always False: no request goes over a connection that was refused.
    """


class ClientClosedError(MomentoError):
    """The client was used after it was closed."""
