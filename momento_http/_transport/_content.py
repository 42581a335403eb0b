"""Request bodies that leave nothing to clean up when a connection breaks."""

from __future__ import annotations

import httpx

from momento_http._families import AsyncByteStream2

__all__ = ["OneChunk"]


class OneChunk(httpx.AsyncByteStream, AsyncByteStream2):
    """A request body sent as one chunk, iterated by a plain object, of either httpx family.

    httpx's own body stream iterates with an async generator, and httpcore abandons the
    iteration when a connection breaks mid-request; an abandoned async generator makes
    trio raise a ResourceWarning when it is collected. This iterator needs no closing.

    Args:
        data: The whole body.

    Attributes:
        data: The whole body, for a transport that takes it at once.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __aiter__(self) -> _Once:
        return _Once(self.data)


class _Once:
    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def __aiter__(self) -> _Once:
        return self

    async def __anext__(self) -> bytes:
        if self._data is None:
            raise StopAsyncIteration
        data, self._data = self._data, None
        return data
