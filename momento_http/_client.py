"""MomentoClient: the public methods, and the lifecycle of the client they share."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import httpx

from momento_http._cache_aside import CacheAside, Loader
from momento_http._config import (
    CLIENT_DEFAULT,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_POLL_TIMEOUT,
    DEFAULT_RETRY,
    DEFAULT_TIMEOUT,
    BaseUrlChoice,
    ClientConfig,
    TryTimeout,
    check_http_client,
    check_retry,
    positive_int,
    read_tokens,
)
from momento_http._credentials import TokenProvider
from momento_http._errors import ClientClosedError, MomentoError
from momento_http._operations import CallMaker, RetryOption, TimeoutOption
from momento_http._redaction import Redactor
from momento_http._retry import RetryPolicy
from momento_http._send import Sender
from momento_http._topics import Subscription, Subscriptions
from momento_http._validation import Key, Value, ttl_seconds

if TYPE_CHECKING:
    import httpx2

__all__ = ["MomentoClient"]

_P = ParamSpec("_P")
_T = TypeVar("_T")

_CLOSED = "this MomentoClient is closed"


def _keywords_of(
    init: Callable[Concatenate[Any, Any, _P], None],
) -> Callable[[Callable[..., _T]], Callable[Concatenate[type[_T], _P], _T]]:
    """Type an alternate constructor as taking the keyword-only parameters of `init`.

    `from_env` is then checked and completed by type checkers and editors as the
    constructor is, while the constructor alone writes the parameters out.
    """

    def typed(make: Callable[..., _T]) -> Callable[Concatenate[type[_T], _P], _T]:
        return make

    return typed


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


class MomentoClient:
    """An async client for the Momento HTTP API: cache get/set/delete, topic publish/subscribe.

    Use it as an async context manager, or call `aclose()` when done:

        async with MomentoClient(api_key, default_ttl=300) as client:
            await client.set("cache", "key", b"value")
            value = await client.get("cache", "key")

    The base URL is, in order: `base_url`, `endpoint`, `region`, the endpoint inside the key,
    or the `MOMENTO_BASE_URL` or `MOMENTO_ENDPOINT` environment variable.

    Args:
        api_key: A Momento API key or auth token, or a function (plain or async) returning
            one, asked again as tokens expire or are refused; None reads `MOMENTO_API_KEY`.
        endpoint: A cell endpoint such as `cell-1-eu-west-1-1.prod.a.momentohq.com`.
        region: An AWS region name, such as `eu-west-1`.
        base_url: A full base URL; plain `http://` is meant for local servers.
        default_ttl: The TTL `set` uses when a call gives none, in seconds or as a timedelta.
        timeout: Seconds each try of a request may take, connect to last byte; or an
            `httpx.Timeout` (or httpx2's), whose phases apply as httpx defines them and
            whose largest value bounds each try.
        poll_timeout: Seconds a topic poll may wait for its answer to begin; reaching it
            just means the subscription polls again.
        retry: Which failures are retried and how; None turns retries off. Calls can
            override it with their own `retry=`.
        token_in_query: Send the token as the `token` query parameter instead of the
            `Authorization` header. The header is safer: query strings end up in logs.
        max_response_bytes: The largest answer to a `get` the client reads; a longer one
            raises `MalformedResponseError`.
        http_client: The `httpx.AsyncClient` or `httpx2.AsyncClient` every request goes
            through (its event hooks, transport, limits and proxy apply; its base URL,
            headers and cookies do not), never closed by this client. By default the
            client makes its own, on a `MomentoTransport`, which gives each subscription a
            connection of its own.

    Raises:
        InvalidArgumentError: An argument is malformed, or no base URL can be found.
    """

    def __init__(
        self,
        api_key: str | TokenProvider | None = None,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        base_url: str | httpx.URL | httpx2.URL | None = None,
        default_ttl: int | timedelta | None = None,
        timeout: float | httpx.Timeout | httpx2.Timeout = DEFAULT_TIMEOUT,
        poll_timeout: float = DEFAULT_POLL_TIMEOUT,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        token_in_query: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        http_client: httpx.AsyncClient | httpx2.AsyncClient | None = None,
    ) -> None:
        redactor = Redactor()
        config = ClientConfig(
            default_ttl=None if default_ttl is None else ttl_seconds(default_ttl, None),
            timeout=TryTimeout.of(timeout, "timeout"),
            poll_timeout=TryTimeout.of(poll_timeout, "poll_timeout").seconds,
            retry=check_retry(retry),
            token_in_query=bool(token_in_query),
            max_response_bytes=positive_int(max_response_bytes, "max_response_bytes"),
            http_client=check_http_client(http_client),
            choice=BaseUrlChoice.read(base_url, endpoint, region),
            redactor=redactor,
            # Last: a token provider is asked once the other arguments have passed.
            tokens=read_tokens(api_key, redactor),
        )
        self._config = config
        self._operations = CallMaker(config)
        self._sender = Sender(config)
        self._send = self._sender.send
        self._subscriptions = Subscriptions(self._sender, config)
        self._cache_aside = CacheAside(self._sender)
        self._state = _State.UNOPENED

    @classmethod
    @_keywords_of(__init__)
    def from_env(cls, **options: Any) -> MomentoClient:
        """Build a client from `MOMENTO_API_KEY`; the class says which variables are read.

        Args:
            **options: Any keyword argument of `MomentoClient`.
        """
        return cls(None, **options)

    @property
    def base_url(self) -> httpx.URL:
        """The base URL every request is made against.

        Raises:
            MomentoError: It comes from a token provider's first token, not read yet.
        """
        if (url := self._sender.base_url) is None:
            raise MomentoError("the base URL comes with the first token: enter the client")
        return url

    def __repr__(self) -> str:
        url = str(self._sender.base_url or "from the first token")
        return f"MomentoClient(base_url={url!r}, state={self._state.value!r})"

    async def __aenter__(self) -> MomentoClient:
        if self._state is not _State.UNOPENED:
            again = self._state is _State.OPENED
            raise ClientClosedError("a MomentoClient is entered once" if again else _CLOSED)
        self._state = _State.OPENED
        await self._sender.ready()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """End open subscriptions and close the client's own connections. Safe to repeat.

        A task iterating a subscription of this client sees its iteration end
        (`StopAsyncIteration`). An `http_client` you passed in stays open.
        """
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        self._sender.closed = True
        await self._subscriptions.end_all()
        await self._sender.aclose()

    async def get(
        self,
        cache: str,
        key: Key,
        *,
        timeout: TimeoutOption = CLIENT_DEFAULT,
        retry: RetryOption = CLIENT_DEFAULT,
    ) -> bytes | None:
        """Read a value.

        Args:
            cache: The cache name.
            key: The key, as text or bytes.
            timeout: This call's timeout, instead of the client's.
            retry: This call's retry policy, instead of the client's; None for no retries.

        Returns:
            The value's bytes, or None when the key is not in the cache.

        Raises:
            MomentoError: The request failed; a miss is no error.
        """
        return await self._send(self._operations.get(cache, key, timeout=timeout, retry=retry))

    async def set(
        self,
        cache: str,
        key: Key,
        value: Value,
        *,
        ttl: int | timedelta | None = None,
        timeout: TimeoutOption = CLIENT_DEFAULT,
        retry: RetryOption = CLIENT_DEFAULT,
    ) -> None:
        """Store a value.

        Args:
            cache: The cache name.
            key: The key, as text or bytes.
            value: The value; text is stored as its UTF-8 bytes.
            ttl: How long the value lives, in seconds or as a timedelta; defaults to the
                client's `default_ttl`.
            timeout: This call's timeout, instead of the client's.
            retry: This call's retry policy, instead of the client's; None for no retries.

        Raises:
            InvalidArgumentError: No TTL was given and the client has no default, or an
                argument is malformed.
            MomentoError: The request failed; see the exception tree.
        """
        await self._send(
            self._operations.set(cache, key, value, ttl=ttl, timeout=timeout, retry=retry)
        )

    async def get_or_set(
        self,
        cache: str,
        key: Key,
        load: Loader,
        *,
        ttl: int | timedelta | None = None,
        timeout: TimeoutOption = CLIENT_DEFAULT,
        retry: RetryOption = CLIENT_DEFAULT,
    ) -> bytes:
        """Read a value; on a miss, make it with `load()`, store it and return it (cache-aside).

        The client's concurrent callers of one item share one read and, on a miss, one
        `load()` and one store, with the first caller's `ttl`, `timeout` and `retry`. A
        caller cancelled while waiting leaves the others waiting; if the first caller is
        cancelled before the value is known, the next one reads and loads again.

        Args:
            cache: The cache name.
            key: The key, as text or bytes.
            load: A function, plain or async, that returns the value (str or bytes) on a
                miss. A plain one runs on the event loop: keep it quick.
            ttl: How long a loaded value lives, in seconds or as a timedelta; defaults to
                the client's `default_ttl`.
            timeout: This call's timeout for each request, instead of the client's.
            retry: This call's retry policy, instead of the client's; None for no retries.

        Returns:
            The value's bytes, read or loaded (a `str` from `load` as its UTF-8 bytes).
            A loaded value that could not be stored is still returned, and the failure
            logged at WARNING on the `momento_http` logger.

        Raises:
            InvalidArgumentError: An argument is malformed, or no TTL was given and the
                client has no default; or `load` returned neither str nor bytes.
            MomentoError: The read failed; nothing was loaded.
            Exception: What `load` raised, raised to every caller sharing it; nothing
                is stored.
        """
        read = self._operations.get(cache, key, timeout=timeout, retry=retry)
        # Made now, with an empty body, so every argument is checked before the read.
        store = self._operations.set(cache, key, b"", ttl=ttl, timeout=timeout, retry=retry)
        return await self._cache_aside.get_or_set(read, store, load)

    async def delete(
        self,
        cache: str,
        key: Key,
        *,
        timeout: TimeoutOption = CLIENT_DEFAULT,
        retry: RetryOption = CLIENT_DEFAULT,
    ) -> None:
        """Remove a key; removing a key that is not there succeeds too.

        Args:
            cache: The cache name.
            key: The key, as text or bytes.
            timeout: This call's timeout, instead of the client's.
            retry: This call's retry policy, instead of the client's; None for no retries.

        Raises:
            MomentoError: The request failed.
        """
        await self._send(self._operations.delete(cache, key, timeout=timeout, retry=retry))

    async def publish(
        self,
        cache: str,
        topic: str,
        value: Value,
        *,
        timeout: TimeoutOption = CLIENT_DEFAULT,
        retry: RetryOption = CLIENT_DEFAULT,
    ) -> None:
        """Publish a message to a topic.

        A failed publish is retried only when it provably never reached the server, so a
        message is never published twice, unless the policy says `publish_at_least_once`.

        Args:
            cache: The name of the cache the topic lives in.
            topic: The topic name; topics need no creation.
            value: A `str` is published as text, `bytes` as binary.
            timeout: This call's timeout, instead of the client's.
            retry: This call's retry policy, instead of the client's; None for no retries.

        Raises:
            MomentoError: The request failed; see the exception tree.
        """
        await self._send(
            self._operations.publish(cache, topic, value, timeout=timeout, retry=retry)
        )

    def subscribe(
        self,
        cache: str,
        topic: str,
        *,
        sequence_number: int | None = None,
        sequence_page: int | None = None,
        heartbeats: bool = False,
    ) -> Subscription:
        """Open a subscription to a topic; iterate it with `async for`.

        It rides out transient failures (connection errors, timeouts, `429`, `5xx`) for as
        long as they last, with backoff capped at the retry policy's `max_delay`, unless
        `RetryPolicy.max_poll_failures` sets a limit: no resubscribe loop is needed. A
        WARNING is logged after 3 failed polls in a row, and an INFO line once one is
        answered again. The iterator raises only what retrying cannot fix (`401`, `403`,
        `404`, ...); closing the subscription or the client ends the iteration
        (`StopAsyncIteration`).

        Args:
            cache: The name of the cache the topic lives in.
            topic: The topic name.
            sequence_number: Where to resume: a `next_sequence_number` saved from an
                earlier subscription. None starts with the next message published.
            sequence_page: The `sequence_page` saved with it, if any.
            heartbeats: Also yield `Heartbeat` events when the server sends them.

        Returns:
            The subscription, an async context manager and async iterator of `TopicItem`,
            `Discontinuity` (and `Heartbeat`, when asked for).

        Raises:
            InvalidArgumentError: An argument is malformed.
            ClientClosedError: The client is closed.
        """
        if self._state is _State.CLOSED:
            raise ClientClosedError(_CLOSED)
        return self._subscriptions.open(
            cache,
            topic,
            sequence_number=sequence_number,
            sequence_page=sequence_page,
            heartbeats=heartbeats,
        )
