"""The `httpx.AsyncClient` a `MomentoClient` makes for itself when not given one."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import httpx

from momento_http._transport import MomentoTransport

__all__ = ["own_http_client"]


class _NoCookies(httpx.Cookies):
    """A cookie store that keeps nothing: Momento's API sets no cookies."""

    def extract_cookies(self, response: httpx.Response) -> None:
        """Keep nothing from the answer."""
        del response


class _RequestOnce(AsyncGenerator[httpx.Request, httpx.Response]):
    """An auth flow that yields the request as it is, once: no generator to run."""

    __slots__ = ("_request",)

    def __init__(self, request: httpx.Request) -> None:
        self._request: httpx.Request | None = request

    async def asend(self, value: httpx.Response | None) -> httpx.Request:
        """The request the first time; then the flow is over."""
        del value
        request, self._request = self._request, None
        if request is None:
            raise StopAsyncIteration
        return request

    async def athrow(self, *args: object) -> httpx.Request:
        """Nothing to clean up: the failure goes on as it is."""
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Nothing to close."""
        self._request = None


class _TokenInRequest(httpx.Auth):
    """No auth step: the SDK's requests carry their token already."""

    def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """The request, once, as it is."""
        return _RequestOnce(request)


class _OwnAsyncClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` on `MomentoTransport`, with no cookie jar and no auth step.

    `AsyncClient.send` hands every response to its cookie store, which rebuilds the
    request and response in `urllib` form to look for `Set-Cookie` (about 20 µs of a
    40 µs `send`, measured alone); Momento sets no cookies. Its default auth flow runs an
    async generator around a generator for each request; the SDK's requests carry their
    token already. Everything else is httpx's own.
    """

    def __init__(self) -> None:
        super().__init__(transport=MomentoTransport(), trust_env=False, auth=_TokenInRequest())
        self._momento_no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        """No cookies: this client keeps none."""
        return self._momento_no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        del cookies  # kept nowhere, as any other cookie


def own_http_client() -> httpx.AsyncClient:
    """A new `httpx.AsyncClient` for the SDK's own use, with no cookies.

    Its transport reads the proxy variables itself: httpx's own `trust_env` would mount
    httpcore for them, bypassing the transport.

    Returns:
        The client; its owner closes it.
    """
    return _OwnAsyncClient()
