"""MomentoClient: request building and lifecycle."""

from __future__ import annotations

import enum
import os
from datetime import timedelta
from types import TracebackType
from typing import Final

import httpx

from momento_http._credentials import parse_api_key, resolve_base_url
from momento_http._errors import (
    ClientClosedError,
    InvalidArgumentError,
    MomentoConnectionError,
    MomentoTimeoutError,
    ServerError,
    error_from_response,
    transport_errors,
)
from momento_http._http11 import Http11Transport
from momento_http._poll_channel import PollChannel
from momento_http._requests import RequestFactory
from momento_http._retry import RetryPolicy, is_transient
from momento_http._subscription import Subscription
from momento_http._validation import (
    Key,
    Value,
    encode_key,
    encode_name,
    encode_value,
    ttl_seconds,
)

__all__ = [
    "CLIENT_DEFAULT",
    "DEFAULT_POLL_TIMEOUT",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "MomentoClient",
    "UseClientDefault",
]

DEFAULT_TIMEOUT: Final = 5.0
"""Seconds a request may take, connect to last byte, unless the client is told otherwise."""

DEFAULT_POLL_TIMEOUT: Final = 60.0
"""Seconds a topic poll may wait for an answer before the subscription polls again."""

DEFAULT_RETRY: Final = RetryPolicy()
"""The retry policy a client uses unless told otherwise."""

_NO_RETRY: Final = RetryPolicy(max_attempts=1, max_poll_failures=1)


class UseClientDefault(enum.Enum):
    """The type of `CLIENT_DEFAULT`."""

    CLIENT_DEFAULT = "the client's setting"


CLIENT_DEFAULT: Final = UseClientDefault.CLIENT_DEFAULT
"""Passed for a per-call option (the default), it means: use the client's setting."""


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


def _env_api_key() -> str:
    api_key = os.environ.get("MOMENTO_API_KEY") or os.environ.get("MOMENTO_AUTH_TOKEN")
    if not api_key:
        raise InvalidArgumentError(
            "no api_key: pass api_key= or set MOMENTO_API_KEY (or MOMENTO_AUTH_TOKEN)"
        )
    return api_key


def _is_a_miss(response: httpx.Response) -> bool:
    """Whether the answer is a 404 for the key; a 404 naming the cache is raised instead.

    Raises:
        CacheNotFoundError: The 404 says the cache is missing.
    """
    if response.status_code != httpx.codes.NOT_FOUND:
        return False
    error = error_from_response(response)
    if "cache not found" in error.message.lower():
        raise error
    return True


def _check_timeout(timeout: float | httpx.Timeout, name: str) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise InvalidArgumentError(f"{name} must be a positive number of seconds, not {timeout!r}")
    return httpx.Timeout(timeout)


def _check_retry(retry: object) -> RetryPolicy | None:
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise InvalidArgumentError(f"retry must be a RetryPolicy or None, not {retry!r}")
    return retry


def _check_sequence(value: object, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"{name} must be a non-negative int or None, not {value!r}")
    return value


class MomentoClient:
    """An async client for the Momento HTTP API: cache get/set/delete and topic publish.

    Use it as an async context manager, or call `aclose()` when done:

        async with MomentoClient(api_key, default_ttl=300) as client:
            await client.set("cache", "key", b"value")
            value = await client.get("cache", "key")

    The base URL is taken from, in order: `base_url`, `endpoint`, `region`, the endpoint
    inside the API key, and the `MOMENTO_ENDPOINT` environment variable.

    Args:
        api_key: A Momento API key or auth token; None reads `MOMENTO_API_KEY` (or
            `MOMENTO_AUTH_TOKEN`) from the environment.
        endpoint: A cell endpoint such as `cell-1-eu-west-1-1.prod.a.momentohq.com`.
        region: An AWS region name, such as `eu-west-1`.
        base_url: A full base URL; plain `http://` is meant for local servers.
        default_ttl: The TTL `set` uses when a call gives none, in seconds or as a timedelta.
        timeout: Seconds (or an `httpx.Timeout`) each request may take.
        poll_timeout: Seconds a topic poll may wait for an answer; reaching it just
            means the subscription polls again.
        retry: Which failures are retried and how; None turns retries off. Calls can
            override it with their own `retry=`.
        token_in_query: Send the token as the `token` query parameter instead of the
            `Authorization` header. The header is safer: query strings end up in logs.
        transport: A custom httpx transport, for instance
            `httpx.AsyncHTTPTransport(proxy="http://proxy:3128")` (proxy environment
            variables are not read). It carries topic polls too, each holding a connection
            while it waits, so give it a pool large enough for your subscriptions.

    Raises:
        InvalidArgumentError: An argument is malformed, or no base URL can be found.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        base_url: str | httpx.URL | None = None,
        default_ttl: int | timedelta | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        poll_timeout: float = DEFAULT_POLL_TIMEOUT,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        token_in_query: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        credentials = parse_api_key(_env_api_key() if api_key is None else api_key)
        self._base_url = resolve_base_url(
            base_url=base_url,
            endpoint=endpoint,
            region=region,
            key_endpoint=credentials.endpoint,
            env_endpoint=os.environ.get("MOMENTO_ENDPOINT"),
        )
        self._default_ttl = None if default_ttl is None else ttl_seconds(default_ttl, None)
        self._timeout = _check_timeout(timeout, "timeout")
        self._requests = RequestFactory(
            self._base_url,
            token=credentials.token,
            token_in_query=token_in_query,
            timeout=self._timeout,
        )
        # Made only when no transport is given: an SSL context loads the CA store (~25 ms).
        self._own_transport: Http11Transport | None = None
        if transport is None:
            transport = self._own_transport = Http11Transport(
                ssl_context=httpx.create_ssl_context()
            )
        self._transport: httpx.AsyncBaseTransport = transport
        self._poll_timeouts = httpx.Timeout(
            _check_timeout(poll_timeout, "poll_timeout").read, connect=self._timeout.connect
        )
        self._retry = _check_retry(retry)
        self._subscriptions: set[Subscription] = set()
        self._state = _State.UNOPENED

    @classmethod
    def from_env(
        cls,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        base_url: str | httpx.URL | None = None,
        default_ttl: int | timedelta | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        poll_timeout: float = DEFAULT_POLL_TIMEOUT,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        token_in_query: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> MomentoClient:
        """Build a client from `MOMENTO_API_KEY` (or `MOMENTO_AUTH_TOKEN`) and `MOMENTO_ENDPOINT`.

        Args:
            endpoint: See `MomentoClient`.
            region: See `MomentoClient`.
            base_url: See `MomentoClient`.
            default_ttl: See `MomentoClient`.
            timeout: See `MomentoClient`.
            poll_timeout: See `MomentoClient`.
            retry: See `MomentoClient`.
            token_in_query: See `MomentoClient`.
            transport: See `MomentoClient`.

        Returns:
            A new client.

        Raises:
            InvalidArgumentError: No key is set in the environment, or it is malformed.
        """
        return cls(
            None,
            endpoint=endpoint,
            region=region,
            base_url=base_url,
            default_ttl=default_ttl,
            timeout=timeout,
            poll_timeout=poll_timeout,
            retry=retry,
            token_in_query=token_in_query,
            transport=transport,
        )

    @property
    def base_url(self) -> httpx.URL:
        """The base URL every request is made against."""
        return self._base_url

    def __repr__(self) -> str:
        return f"MomentoClient(base_url={str(self._base_url)!r}, state={self._state.value!r})"

    async def __aenter__(self) -> MomentoClient:
        if self._state is not _State.UNOPENED:
            raise ClientClosedError(
                "a MomentoClient can be entered once; create a new one"
                if self._state is _State.OPENED
                else "this MomentoClient is closed"
            )
        self._state = _State.OPENED
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections and end open subscriptions. Safe to call more than once.

        A task iterating a subscription of this client gets `ClientClosedError`.
        """
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        for subscription in list(self._subscriptions):
            await subscription._end(by_client=True)
        await self._transport.aclose()

    async def get(
        self,
        cache: str,
        key: Key,
        *,
        timeout: float | httpx.Timeout | UseClientDefault = CLIENT_DEFAULT,
        retry: RetryPolicy | UseClientDefault | None = CLIENT_DEFAULT,
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
            MomentoError: The request failed; see the exception tree.
        """
        response = await self._send(
            "GET", self._cache_path(cache), key_param=encode_key(key), timeout=timeout, retry=retry
        )
        if response.status_code == httpx.codes.OK:
            return response.content
        if _is_a_miss(response):
            return None
        raise self._unexpected(response)

    async def set(
        self,
        cache: str,
        key: Key,
        value: Value,
        *,
        ttl: int | timedelta | None = None,
        timeout: float | httpx.Timeout | UseClientDefault = CLIENT_DEFAULT,
        retry: RetryPolicy | UseClientDefault | None = CLIENT_DEFAULT,
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
        path = self._cache_path(cache)
        key_param = encode_key(key)
        body = encode_value(value)
        params = {"ttl_seconds": str(ttl_seconds(ttl, self._default_ttl))}
        response = await self._send(
            "PUT",
            path,
            key_param=key_param,
            params=params,
            body=body,
            timeout=timeout,
            retry=retry,
        )
        self._expect_success(response)

    async def delete(
        self,
        cache: str,
        key: Key,
        *,
        timeout: float | httpx.Timeout | UseClientDefault = CLIENT_DEFAULT,
        retry: RetryPolicy | UseClientDefault | None = CLIENT_DEFAULT,
    ) -> None:
        """Remove a key; removing a key that is not there succeeds too.

        Args:
            cache: The cache name.
            key: The key, as text or bytes.
            timeout: This call's timeout, instead of the client's.
            retry: This call's retry policy, instead of the client's; None for no retries.

        Raises:
            MomentoError: The request failed; see the exception tree.
        """
        response = await self._send(
            "DELETE",
            self._cache_path(cache),
            key_param=encode_key(key),
            timeout=timeout,
            retry=retry,
        )
        if not _is_a_miss(response):
            self._expect_success(response)

    async def publish(
        self,
        cache: str,
        topic: str,
        value: Value,
        *,
        timeout: float | httpx.Timeout | UseClientDefault = CLIENT_DEFAULT,
        retry: RetryPolicy | UseClientDefault | None = CLIENT_DEFAULT,
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
        path = self._topic_path(cache, topic)
        content_type = "text/plain" if isinstance(value, str) else "application/octet-stream"
        response = await self._send(
            "POST",
            path,
            body=encode_value(value),
            content_type=content_type,
            timeout=timeout,
            retry=retry,
            idempotent=False,
        )
        self._expect_success(response)

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
        path = self._topic_path(cache, topic)
        start = _check_sequence(sequence_number, "sequence_number")
        page = _check_sequence(sequence_page, "sequence_page") or None
        if self._state is _State.CLOSED:
            raise ClientClosedError("this MomentoClient is closed")

        def build_poll(query: dict[str, str]) -> httpx.Request:
            return self._requests.build("GET", path, query, timeout=self._poll_timeouts)

        # Each subscription polls over a connection of its own (see PollChannel), so
        # waiting polls never hold the connections get and set need.
        if self._own_transport is not None:
            channel = PollChannel(
                build_poll, transport=self._own_transport.one_connection(), owns_transport=True
            )
        else:  # a caller's transport carries the polls too, and stays open
            channel = PollChannel(build_poll, transport=self._transport, owns_transport=False)
        subscription = Subscription(
            channel,
            sequence_number=start,
            sequence_page=page,
            heartbeats=bool(heartbeats),
            retry=self._retry or _NO_RETRY,
            on_end=self._subscriptions.discard,
        )
        self._subscriptions.add(subscription)
        return subscription

    def _topic_path(self, cache: str, topic: str) -> str:
        return f"/topics/{encode_name(cache, 'cache')}/{encode_name(topic, 'topic')}"

    def _cache_path(self, cache: str) -> str:
        return f"/cache/{encode_name(cache, 'cache')}"

    async def _send(
        self,
        method: str,
        path: str,
        *,
        key_param: tuple[str, str] | None = None,
        params: dict[str, str] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        timeout: float | httpx.Timeout | UseClientDefault = CLIENT_DEFAULT,
        retry: RetryPolicy | UseClientDefault | None = CLIENT_DEFAULT,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send a request, retrying as the policy allows; return the last response.

        Raises:
            ClientClosedError: The client is closed.
            MomentoTimeoutError: The last try timed out.
            MomentoConnectionError: The last try could not connect or broke.
        """
        if self._state is _State.CLOSED:
            raise ClientClosedError("this MomentoClient is closed")
        query = dict(params or {})
        if key_param is not None:
            query[key_param[0]] = key_param[1]
        policy = self._retry if isinstance(retry, UseClientDefault) else _check_retry(retry)
        request = self._requests.build(
            method,
            path,
            query,
            body=body,
            content_type=content_type,
            timeout=None
            if isinstance(timeout, UseClientDefault)
            else _check_timeout(timeout, "timeout"),
        )
        attempt = 1
        while True:
            response: httpx.Response | None = None
            try:
                response = await self._exchange(request)
                if response.is_success or not is_transient(error := error_from_response(response)):
                    return response
            except (MomentoConnectionError, MomentoTimeoutError) as failure:
                error = failure
            if policy is None or not policy.allows(attempt, error, idempotent=idempotent):
                if response is not None:
                    return response
                raise error
            await policy.sleep(policy.delay(attempt, getattr(error, "retry_after", None)))
            attempt += 1

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        """Send one request and read its whole answer."""
        with transport_errors(request):
            response = await self._transport.handle_async_request(request)
            response.request = request
            try:
                await response.aread()
            finally:
                await response.aclose()
        return response

    def _expect_success(self, response: httpx.Response) -> None:
        if not response.is_success:
            raise error_from_response(response)

    def _unexpected(self, response: httpx.Response) -> Exception:
        if response.is_success:
            return ServerError(
                f"unexpected status {response.status_code} for a {response.request.method}",
                status_code=response.status_code,
                method=response.request.method,
                url=response.request.url,
            )
        return error_from_response(response)
