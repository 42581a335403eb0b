"""A client's settings: read from its arguments and the environment, and checked, once."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, cast

import httpx

from momento_http._credentials import TokenProvider, Tokens, parse_api_key, resolve_base_url
from momento_http._errors import InvalidArgumentError
from momento_http._families import TIMEOUTS, client_family
from momento_http._redaction import Redactor
from momento_http._retry import RetryPolicy

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "CLIENT_DEFAULT",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_POLL_TIMEOUT",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "BaseUrlChoice",
    "ClientConfig",
    "TryTimeout",
    "UseClientDefault",
    "check_http_client",
    "check_retry",
    "positive_int",
    "read_tokens",
]

DEFAULT_TIMEOUT: Final = 5.0
"""Seconds a request may take, connect to last byte, unless the client is told otherwise."""

DEFAULT_POLL_TIMEOUT: Final = 60.0
"""Seconds a topic poll may wait for an answer before the subscription polls again."""

DEFAULT_RETRY: Final = RetryPolicy()
"""The retry policy a client uses unless told otherwise."""

DEFAULT_MAX_RESPONSE_BYTES: Final = 6 * 1024 * 1024
"""The largest answer to a `get` read: Momento's 5 MiB item limit, and room to spare."""


class UseClientDefault(enum.Enum):
    """The type of `CLIENT_DEFAULT`."""

    CLIENT_DEFAULT = "the client's setting"


CLIENT_DEFAULT: Final = UseClientDefault.CLIENT_DEFAULT
"""Passed for a per-call option (the default), it means: use the client's setting."""


@dataclass(frozen=True, slots=True)
class TryTimeout:
    """How long one try of a request may take.

    Attributes:
        seconds: The bound on the whole try, connect to last byte.
        phases: httpx's timeout extension, for the transport: connect and pool waits,
            which tell a request that never left from one that may have arrived.
    """

    seconds: float
    phases: dict[str, float | None] = field(compare=False)

    @classmethod
    def of(cls, timeout: object, name: str) -> TryTimeout:
        """Check a timeout given as seconds or an `httpx.Timeout`.

        Args:
            timeout: Seconds bounding each try, or an `httpx.Timeout` (its phases apply as
                httpx defines them, and its largest value bounds each try).
            name: The argument's name, for the error message.

        Returns:
            The checked timeout.

        Raises:
            InvalidArgumentError: It is not a positive number, or bounds nothing.
        """
        if isinstance(timeout, TIMEOUTS):
            phases = timeout.as_dict()
            bounds = [value for value in phases.values() if value is not None]
            if not bounds or min(bounds) <= 0:
                raise InvalidArgumentError(f"{name} must set positive limits, not {timeout!r}")
            return cls(float(max(bounds)), phases)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise InvalidArgumentError(
                f"{name} must be a positive number of seconds, not {timeout!r}"
            )
        seconds = float(timeout)
        return cls(seconds, {"connect": seconds, "pool": seconds, "read": None, "write": None})


def check_retry(retry: object) -> RetryPolicy | None:
    """Check a retry policy given to a client or a call.

    Args:
        retry: A `RetryPolicy`, or None for no retries.

    Returns:
        The policy.

    Raises:
        InvalidArgumentError: It is neither.
    """
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise InvalidArgumentError(f"retry must be a RetryPolicy or None, not {retry!r}")
    return retry


def read_tokens(api_key: str | TokenProvider | None, redactor: Redactor) -> Tokens:
    """Where a client's tokens come from: its key, its provider, or `MOMENTO_API_KEY`.

    A plain provider is asked for its first token now; an async one when the client is
    entered.

    Args:
        api_key: The client's `api_key` argument.
        redactor: Told every token, to hide it in anything shown.

    Raises:
        InvalidArgumentError: No key is given or set, or the key is malformed.
    """
    if callable(api_key):
        tokens = Tokens(redactor, provider=api_key)
        tokens.read_now()
        return tokens
    if api_key is None:
        api_key = os.environ.get("MOMENTO_API_KEY") or os.environ.get("MOMENTO_AUTH_TOKEN")
        if not api_key:
            raise InvalidArgumentError(
                "no api_key: pass api_key= or set MOMENTO_API_KEY (or MOMENTO_AUTH_TOKEN)"
            )
    return Tokens(redactor, fixed=parse_api_key(api_key))


def check_http_client(
    http_client: httpx.AsyncClient | httpx2.AsyncClient | None,
) -> httpx.AsyncClient | None:
    """Check the `AsyncClient` a client was given, if any.

    Returns:
        It, typed as httpx's (httpx2's has the same members), or None.

    Raises:
        InvalidArgumentError: It is neither httpx's nor httpx2's `AsyncClient`.
    """
    if http_client is not None and client_family(http_client) is None:
        raise InvalidArgumentError(
            "http_client must be an httpx.AsyncClient or an httpx2.AsyncClient, "
            f"not {type(http_client).__name__}"
        )
    return cast("httpx.AsyncClient | None", http_client)


def positive_int(value: object, name: str) -> int:
    """Check a count given as an argument.

    Raises:
        InvalidArgumentError: It is not a positive int.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidArgumentError(f"{name} must be a positive int, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class BaseUrlChoice:
    """What the base URL is chosen from, when it has to wait for a provider's first token.

    Attributes:
        base_url: The `base_url` argument.
        endpoint: The `endpoint` argument.
        region: The `region` argument.
        env_base_url: `MOMENTO_BASE_URL`.
        env_endpoint: `MOMENTO_ENDPOINT`.
    """

    base_url: str | httpx.URL | httpx2.URL | None
    endpoint: str | None
    region: str | None
    env_base_url: str | None
    env_endpoint: str | None

    @classmethod
    def read(
        cls,
        base_url: str | httpx.URL | httpx2.URL | None,
        endpoint: str | None,
        region: str | None,
    ) -> BaseUrlChoice:
        """The client's arguments, and the environment variables that name a base URL."""
        return cls(
            base_url,
            endpoint,
            region,
            os.environ.get("MOMENTO_BASE_URL") or None,
            os.environ.get("MOMENTO_ENDPOINT") or None,
        )

    @property
    def explicit(self) -> bool:
        """Whether an argument names the base URL, so that no key's endpoint matters."""
        return not (self.base_url is None and self.endpoint is None and self.region is None)

    def resolve(self, key_endpoint: str | None) -> httpx.URL:
        """The base URL, given the endpoint the key names (if it names one).

        Raises:
            InvalidArgumentError: A value is malformed, or none of them names an endpoint.
        """
        return resolve_base_url(
            base_url=self.base_url,
            endpoint=self.endpoint,
            region=self.region,
            key_endpoint=key_endpoint,
            env_base_url=self.env_base_url,
            env_endpoint=self.env_endpoint,
        )


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Everything a client was configured with, checked.

    Attributes:
        tokens: Where the token comes from; never shows one.
        choice: What the base URL is chosen from: the arguments, the environment, and
            the endpoint the first token names.
        redactor: Hides the client's tokens in anything shown.
        default_ttl: The TTL `set` uses when a call gives none, in seconds.
        timeout: How long each try of a call may take.
        poll_timeout: Seconds a topic poll may wait for its answer to begin.
        retry: The client's retry policy, or None.
        token_in_query: Whether the token goes in the query instead of a header.
        max_response_bytes: The largest answer to a `get` read.
        http_client: The caller's `AsyncClient` (httpx's or httpx2's, whose members are
            the same), or None for the client's own.
    """

    tokens: Tokens
    choice: BaseUrlChoice = field(repr=False)
    redactor: Redactor = field(repr=False)
    default_ttl: int | None
    timeout: TryTimeout
    poll_timeout: float
    retry: RetryPolicy | None
    token_in_query: bool
    max_response_bytes: int
    http_client: httpx.AsyncClient | None = field(repr=False)
