"""The operations (get, set, delete, publish): their checks, and the `Call` each makes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final, TypeAlias, TypedDict, TypeVar

import httpx

from momento_http._config import ClientConfig, TryTimeout, UseClientDefault, check_retry
from momento_http._retry import RetryPolicy
from momento_http._send import Answer, Call
from momento_http._validation import (
    Key,
    Value,
    cache_path,
    encode_key,
    encode_value,
    topic_path,
    ttl_seconds,
)

if TYPE_CHECKING:
    import httpx2
    from typing_extensions import Unpack  # typing's own from 3.11

__all__ = ["CallMaker", "RetryOption", "TimeoutOption"]

T = TypeVar("T")
TimeoutOption: TypeAlias = "float | httpx.Timeout | httpx2.Timeout | UseClientDefault"
RetryOption = RetryPolicy | UseClientDefault | None

_KEPT_PATHS: Final = 256
_READ: Final = frozenset({httpx.codes.OK})
_WRITE: Final = frozenset(code for code in httpx.codes if httpx.codes.is_success(code))


def _value_or_miss(answer: Answer | None) -> bytes | None:
    return None if answer is None or answer.status == httpx.codes.NOT_FOUND else answer.body


def _nothing(answer: Answer | None) -> None:
    del answer


class _What(TypedDict, total=False):
    """What an operation sends beyond its method, path and query, as `Call` takes it."""

    body: bytes
    content_type: str
    idempotent: bool
    miss_ok: bool


class CallMaker:
    """Checks a call's arguments and makes its `Call`, with the client's settings.

    Every check runs here, before anything is sent.

    Args:
        config: The client's settings.
    """

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self._cache_paths: dict[str, str] = {}  # a client uses few caches: encode each once

    def get(
        self, cache: str, key: Key, timeout: TimeoutOption, retry: RetryOption
    ) -> Call[bytes | None]:
        """A `get`: the value's bytes, or None for a miss."""
        return self._call(
            "GET",
            self._cache_path(cache),
            dict([encode_key(key)]),
            decode=_value_or_miss,
            timeout=timeout,
            retry=retry,
            accept=_READ,
            miss_ok=True,
        )

    def set(
        self,
        cache: str,
        key: Key,
        value: Value,
        *,
        ttl: object,
        timeout: TimeoutOption,
        retry: RetryOption,
    ) -> Call[None]:
        """A `set`, with the call's TTL or the client's default."""
        query = dict([encode_key(key)])
        body = encode_value(value)
        query["ttl_seconds"] = str(ttl_seconds(ttl, self._config.default_ttl))
        return self._call(
            "PUT",
            self._cache_path(cache),
            query,
            decode=_nothing,
            timeout=timeout,
            retry=retry,
            body=body,
        )

    def delete(
        self, cache: str, key: Key, timeout: TimeoutOption, retry: RetryOption
    ) -> Call[None]:
        """A `delete`; deleting what is not there succeeds."""
        return self._call(
            "DELETE",
            self._cache_path(cache),
            dict([encode_key(key)]),
            decode=_nothing,
            timeout=timeout,
            retry=retry,
            miss_ok=True,
        )

    def publish(
        self, cache: str, topic: str, value: Value, *, timeout: TimeoutOption, retry: RetryOption
    ) -> Call[None]:
        """A `publish`: text as `text/plain`, bytes as `application/octet-stream`."""
        return self._call(
            "POST",
            topic_path(cache, topic),
            {},
            decode=_nothing,
            timeout=timeout,
            retry=retry,
            body=encode_value(value),
            content_type="text/plain" if isinstance(value, str) else "application/octet-stream",
            idempotent=False,  # a repeat could publish the message twice
        )

    def _cache_path(self, cache: str) -> str:
        path = self._cache_paths.get(cache) if type(cache) is str else None
        if path is None:
            path = cache_path(cache)
            if len(self._cache_paths) < _KEPT_PATHS:
                self._cache_paths[cache] = path
        return path

    def _call(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        *,
        decode: Callable[[Answer | None], T],
        timeout: TimeoutOption,
        retry: RetryOption,
        accept: frozenset[int] = _WRITE,
        **what: Unpack[_What],
    ) -> Call[T]:
        config = self._config
        policy = config.retry if isinstance(retry, UseClientDefault) else check_retry(retry)
        if isinstance(timeout, UseClientDefault):
            try_timeout = config.timeout
        else:
            try_timeout = TryTimeout.of(timeout, "timeout")
        return Call(
            method,
            path,
            query,
            decode=decode,
            timeout=try_timeout,
            retry=policy,
            limit=policy.max_attempts if policy is not None else 1,
            accept=accept,
            max_bytes=config.max_response_bytes,
            **what,
        )
