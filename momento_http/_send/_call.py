"""Call: one logical request, as the send path takes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from momento_http._config import TryTimeout
from momento_http._errors import MomentoError
from momento_http._retry import RetryPolicy
from momento_http._send._answers import Answer
from momento_http._transport import DedicatedConnection

__all__ = ["Call"]

T = TypeVar("T")


class Call(Generic[T]):
    """One logical request: what to send, how long each try may take, how to judge it.

    Args:
        method: The HTTP method.
        path: The path under the base URL, percent-encoded.
        query: The query parameters, before encoding.
        decode: Turns an accepted answer into the call's result; given None when a long
            poll's time passed with no answer. A `ValueError` from it means the answer is
            malformed (a transient failure).
        timeout: How long each try may take (for a long poll: the body, once it begins).
        retry: The retry policy, or None for one try.
        limit: The most tries in a row; None for no limit (a subscription's polls).
        accept: The statuses that are the call's success.
        body: The request body.
        content_type: The body's media type.
        idempotent: Whether repeating the request is harmless.
        miss_ok: Whether a 404 saying "key not found" is an answer (a miss), not an error.
        max_bytes: The largest accepted answer read.
        dedicated: A connection of its own to travel on (a subscription's), if any.
        wait: For a long poll: seconds its answer may take to begin.
        describe: What the call is, for the log line of a retry.
        on_failure: Told of each failed try: its error, and the delay before the next
            try (None: no next try, the error is raised).
    """

    __slots__ = (
        "accept",
        "body",
        "content_type",
        "decode",
        "dedicated",
        "describe",
        "idempotent",
        "limit",
        "max_bytes",
        "method",
        "miss_ok",
        "on_failure",
        "path",
        "query",
        "retry",
        "timeout",
        "wait",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        *,
        decode: Callable[[Answer | None], T],
        timeout: TryTimeout,
        retry: RetryPolicy | None,
        limit: int | None,
        accept: frozenset[int],
        body: bytes = b"",
        content_type: str | None = None,
        idempotent: bool = True,
        miss_ok: bool = False,
        max_bytes: int,
        dedicated: DedicatedConnection | None = None,
        wait: float | None = None,
        describe: Callable[[], str] | None = None,
        on_failure: Callable[[MomentoError, float | None], None] | None = None,
    ) -> None:
        self.method: str = method
        self.path: str = path
        self.query: dict[str, str] = query
        self.decode: Callable[[Answer | None], T] = decode
        self.timeout: TryTimeout = timeout
        self.retry: RetryPolicy | None = retry
        self.limit: int | None = limit
        self.accept: frozenset[int] = accept
        self.body: bytes = body
        self.content_type: str | None = content_type
        self.idempotent: bool = idempotent
        self.miss_ok: bool = miss_ok
        self.max_bytes: int = max_bytes
        self.dedicated: DedicatedConnection | None = dedicated
        self.wait: float | None = wait
        self.describe: Callable[[], str] | None = describe
        self.on_failure: Callable[[MomentoError, float | None], None] | None = on_failure
