"""RequestFactory: builds the client's requests, working out once what every request shares."""

from __future__ import annotations

from typing import Final
from urllib.parse import quote, urlencode

import httpx

from momento_http._streams import OneChunk

__all__ = ["RequestFactory"]

_USER_AGENT: Final = "momento-http-python/0.1.0"
_BODY_METHODS: Final = frozenset({"PUT", "POST"})


class RequestFactory:
    """Makes `httpx.Request`s for one base URL, token and default timeout.

    `httpx.AsyncClient.build_request` merges URLs, parameters, headers and cookies anew for
    every request: about 115 µs, more than a third of a request's whole cost over a fast
    transport. Here the headers are encoded once, and each request's URL is parsed once.

    Args:
        base_url: Where requests go.
        token: The token, sent as the `Authorization` header or the `token` query parameter.
        token_in_query: Send the token in the query instead of the header.
        timeout: The timeout of requests that do not bring their own.
    """

    def __init__(
        self, base_url: httpx.URL, *, token: str, token_in_query: bool, timeout: httpx.Timeout
    ) -> None:
        self._prefix = str(base_url).rstrip("/")
        shared = {"host": base_url.netloc.decode("ascii"), "user-agent": _USER_AGENT}
        if not token_in_query:
            shared["authorization"] = token
        self._headers = httpx.Headers(shared).raw
        self._token_query = {"token": token} if token_in_query else {}
        self._timeout = timeout.as_dict()

    def build(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        *,
        body: bytes = b"",
        content_type: str | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Request:
        """Make one request.

        Args:
            method: The HTTP method.
            path: The path under the base URL, already percent-encoded.
            query: The query parameters, before encoding; the token is added when it goes
                in the query.
            body: The request body.
            content_type: The body's media type, if any.
            timeout: This request's timeout, instead of the default.

        Returns:
            The request, ready for a transport.
        """
        query = {**query, **self._token_query}
        url = self._prefix + path
        if query:
            url += "?" + urlencode(query, quote_via=quote)
        headers = list(self._headers)
        if content_type is not None:
            headers.append((b"content-type", content_type.encode("ascii")))
        if body or method in _BODY_METHODS:
            headers.append((b"content-length", str(len(body)).encode("ascii")))
        return httpx.Request(
            method,
            httpx.URL(url),
            headers=headers,
            stream=OneChunk(body),
            extensions={"timeout": self._timeout if timeout is None else timeout.as_dict()},
        )
