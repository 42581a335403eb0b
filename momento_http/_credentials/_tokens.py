"""Where a client's token comes from: a fixed key, or a provider asked again as tokens expire.

Browser and edge users get short-lived tokens from a token vending service. Given a
callable instead of a key, the client asks it for a token before its first request (at
once, when it is a plain function), again shortly before a token's `exp` claim passes, and
again once when a request is refused with `401`, which is then repeated once.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Final

import anyio

from momento_http._credentials._keys import Credentials, jwt_expiry, parse_api_key
from momento_http._errors import InvalidArgumentError
from momento_http._redaction import Redactor

__all__ = ["TokenProvider", "Tokens"]

TokenProvider = Callable[[], str] | Callable[[], Awaitable[str]]
"""A function, plain or async, that returns an API key or token each time it is called."""

_MAX_MARGIN: Final = 30.0  # seconds before `exp` at which a token is replaced, at most
_MARGIN_SHARE: Final = 0.1  # and at most this share of the token's life when it was fetched


class Tokens:
    """The token a client sends: fixed, or fetched from a provider and renewed.

    Args:
        redactor: Told every token, so that none is ever shown.
        fixed: A key given as it is.
        provider: A callable that returns keys.
    """

    def __init__(
        self,
        redactor: Redactor,
        *,
        fixed: Credentials | None = None,
        provider: TokenProvider | None = None,
    ) -> None:
        self._redactor = redactor
        self._provider = provider
        self._lock: anyio.Lock | None = None
        self._current: Credentials | None = None
        self._renew_at = float("inf")
        if fixed is not None:
            self._take(fixed)

    def __repr__(self) -> str:
        kind = "provider" if self._provider is not None else "fixed"
        return f"Tokens({kind})"

    @property
    def renewable(self) -> bool:
        """Whether tokens come from a provider, and so can be replaced."""
        return self._provider is not None

    @property
    def first(self) -> Credentials | None:
        """The token at hand, if one has been read."""
        return self._current

    def read_now(self) -> None:
        """Ask a plain (not async) provider for the first token at once.

        Raises:
            InvalidArgumentError: The provider returned something that is not a key.
        """
        if self._provider is not None and not inspect.iscoroutinefunction(self._provider):
            value = self._provider()
            if not inspect.isawaitable(value):
                self._take(self._parse(value))
            elif inspect.iscoroutine(value):
                value.close()  # an async provider in disguise: read it when awaited

    async def current(self) -> str:
        """The token to send now, asking the provider first if it has none or it expires.

        Returns:
            The token.
        """
        current = self._current
        if current is None or time.time() >= self._renew_at:
            return await self.renew(current.token if current is not None else None)
        return current.token

    async def renew(self, stale: str | None) -> str:
        """Ask the provider for a new token, unless another task just did.

        Args:
            stale: The token found wanting (expired, or refused with `401`).

        Returns:
            The token to send now.

        Raises:
            InvalidArgumentError: There is no provider, or it returned something that is
                not a key.
        """
        provider = self._provider
        if provider is None:
            raise InvalidArgumentError("this client's key is fixed: it cannot be renewed")
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            current = self._current
            fresh = current is not None and current.token != stale
            if not fresh or current is None or time.time() >= self._renew_at:
                value = provider()
                if inspect.isawaitable(value):
                    value = await value
                self._take(self._parse(value))
            assert self._current is not None
            return self._current.token

    def _parse(self, value: object) -> Credentials:
        if not isinstance(value, str):
            raise InvalidArgumentError(
                f"the api_key provider returned a {type(value).__name__}, not a str"
            )
        if value:
            self._redactor.remember(value)  # a v1 key holds the token, encoded
        return parse_api_key(value)

    def _take(self, credentials: Credentials) -> None:
        self._redactor.remember(credentials.token)
        now = time.time()
        expiry = jwt_expiry(credentials.token)
        if expiry is None or self._provider is None:
            self._renew_at = float("inf")
        else:
            margin = min(_MAX_MARGIN, max(expiry - now, 0.0) * _MARGIN_SHARE)
            self._renew_at = expiry - margin
        self._current = credentials
