"""RequestFactory: builds the client's requests, working out once what every request shares."""

from __future__ import annotations

from functools import lru_cache
from typing import Final
from urllib.parse import quote

import httpx

from momento_http._families import Family
from momento_http._transport import REQUEST_STATE, OneChunk, RequestState
from momento_http._version import VERSION

__all__ = ["USER_AGENT", "RequestFactory"]

USER_AGENT: Final = f"momento-http-python/{VERSION}"
_BODY_METHODS: Final = frozenset({"PUT", "POST"})
_KEPT_URLS: Final = 1024


class RequestFactory:
    """Makes requests for one base URL, of the family of the client that sends them.

    `httpx.AsyncClient.build_request` merges URLs, parameters, headers and cookies anew for
    every request; here the shared headers are encoded once, and a request is built
    directly, to be sent with `AsyncClient.send`. Parsing a URL costs httpx 13 to 17 µs, and
    every public way to make an `httpx.URL` parses (from its parts, or by `copy_with`, costs
    more), while a cache reads the same keys again and again: the 1,024 URLs used last are
    kept parsed (httpx URLs are immutable, so requests can share them). Every request asks
    for its answer uncompressed (`Accept-Encoding: identity`), so that no answer is
    inflated past its cap.

    Args:
        base_url: Where requests go; its own path, if any, prefixes every path.
        token_in_query: Send the token as the `token` query parameter, not a header.
        family: The httpx family of the client that sends the requests.
    """

    def __init__(self, base_url: httpx.URL, *, token_in_query: bool, family: Family) -> None:
        self.base_url = base_url
        self._prefix = str(base_url).rstrip("/")
        self._family = family
        self._headers = family.Headers(
            {
                "host": base_url.netloc.decode("ascii"),
                "user-agent": USER_AGENT,
                "accept-encoding": "identity",
            }
        ).raw
        self._token_in_query = token_in_query
        self._url = lru_cache(maxsize=_KEPT_URLS)(family.URL)

    def build(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        *,
        token: str,
        body: bytes = b"",
        content_type: str | None = None,
        timeouts: dict[str, float | None],
        state: RequestState,
    ) -> httpx.Request:
        """Make one request.

        Args:
            method: The HTTP method.
            path: The path under the base URL, already percent-encoded.
            query: The query parameters; their values must be URL-safe already (keys are
                plain or base64url text, numbers are digits), except a token's.
            token: The token, for the `Authorization` header or the query.
            body: The request body.
            content_type: The body's media type, if any.
            timeouts: httpx's timeout extension: connect, read, write and pool seconds.
            state: The request's state, for the transport.

        Returns:
            The request, ready for `AsyncClient.send`.
        """
        headers = list(self._headers)
        text = self._prefix + path
        if self._token_in_query:
            query = {**query, "token": quote(token, safe="")}
        else:
            headers.append((b"authorization", token.encode("ascii")))
        if query:
            text += "?" + "&".join([f"{name}={value}" for name, value in query.items()])
        if content_type is not None:
            headers.append((b"content-type", content_type.encode("ascii")))
        if body or method in _BODY_METHODS:
            headers.append((b"content-length", str(len(body)).encode("ascii")))
        return self._family.Request(
            method,
            self._url(text),
            headers=headers,
            stream=OneChunk(body),
            extensions={"timeout": timeouts, REQUEST_STATE: state},
        )
