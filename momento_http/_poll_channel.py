"""PollChannel: the connection one subscription polls over."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from momento_http._errors import MomentoTimeoutError, ServerError, transport_errors

__all__ = ["MAX_POLL_BYTES", "PollChannel"]

MAX_POLL_BYTES = 16 * 1024 * 1024
"""The largest poll answer read; a bigger one is treated as a malformed answer."""


class PollChannel:
    """One subscription's own connection for its long polls.

    A poll holds its connection while it waits, so a thousand subscriptions sharing the
    client's pool would starve `get` and `set` of connections (and httpcore's pool, scanning
    every connection to place each request, took 12 s to deliver one message to 1,000
    subscribers). A connection per subscription keeps each poll's cost flat, and closing
    the subscription closes its socket at once.

    Args:
        build_request: Makes the poll request from its query parameters, with the client's
            headers and the poll timeout.
        transport: What the polls go through.
        owns_transport: Whether closing the channel closes the transport; a caller's own
            transport is shared with the client and not closed here.
    """

    def __init__(
        self,
        build_request: Callable[[dict[str, str]], httpx.Request],
        *,
        transport: httpx.AsyncBaseTransport,
        owns_transport: bool,
    ) -> None:
        self._build_request = build_request
        self._owns_transport = owns_transport
        self._transport = transport

    async def poll(self, query: dict[str, str]) -> httpx.Response | None:
        """Send one poll and read the whole answer.

        Args:
            query: The poll's query parameters.

        Returns:
            The response, body read; None when no answer came within the poll timeout,
            which only means nothing was published.

        Raises:
            MomentoTimeoutError: Connecting or sending timed out.
            MomentoConnectionError: The connection failed or broke.
            ServerError: The answer is larger than `MAX_POLL_BYTES`.
        """
        request = self._build_request(query)
        try:
            with transport_errors(request):
                response = await self._transport.handle_async_request(request)
                response.request = request
                try:
                    body = await _read_capped(response)
                finally:
                    await response.aclose()
                if body is None:
                    raise ServerError(
                        f"the poll answer is over {MAX_POLL_BYTES} bytes",
                        status_code=response.status_code,
                        method=request.method,
                        url=request.url,
                    )
        except MomentoTimeoutError as error:
            if isinstance(error.__cause__, httpx.ReadTimeout):
                return None
            raise
        headers = response.headers.copy()
        headers.pop("content-encoding", None)  # the body is decoded already
        return httpx.Response(
            response.status_code, headers=headers, content=bytes(body), request=request
        )

    async def aclose(self) -> None:
        """Close the connection, unless it belongs to a caller's transport."""
        if self._owns_transport:
            await self._transport.aclose()


async def _read_capped(response: httpx.Response) -> bytearray | None:
    """The decoded body (the cap holds after gzip too), or None when it is over the cap.

    A body declared too long is refused unread. Any other is read to its end even past
    the cap, keeping only what fits: leaving httpx's body iteration half-done abandons
    async generators, which trio warns about when they are collected.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_POLL_BYTES:
        return None
    body = bytearray()
    over = False
    async for chunk in response.aiter_bytes():
        over = over or len(body) + len(chunk) > MAX_POLL_BYTES
        if not over:
            body += chunk
    return None if over else body
