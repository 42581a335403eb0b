"""A transport whose `close` lets the client hear the answer before the connection goes.

When a server closes a socket whose client is still sending (an answer given before the
request was read: a head too large, a malformed request, a body too slow), the kernel
resets the connection, and the client loses the answer it was about to read. Closing
gently instead — stop writing, read and drop what still comes until the client closes too,
for at most a second — is what servers call a lingering close.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["LINGER_SECONDS", "LingeringTransport"]

LINGER_SECONDS = 1.0


class LingeringTransport(asyncio.Transport):
    """Wraps a connection's transport; `close` half-closes, drains, then closes.

    Args:
        transport: The connection's own transport.
        client_may_send: Whether the client may still be sending when the connection is
            closed (a request under way, or part of one heard); if not, close at once.
    """

    def __init__(self, transport: asyncio.Transport, client_may_send: Callable[[], bool]) -> None:
        super().__init__()
        self._transport = transport
        self._client_may_send = client_may_send
        self.closing = False
        """Whether `close` was called: what still arrives is to be dropped."""

    def close(self) -> None:
        """Stop writing once the answer is out; close when the client does, or in a second."""
        if self.closing:
            return
        self.closing = True
        transport = self._transport
        if transport.is_closing():
            return
        if not (self._client_may_send() and transport.can_write_eof()):
            transport.close()
            return
        try:
            transport.write_eof()
        except OSError:  # the client is gone already
            transport.abort()
            return
        transport.resume_reading()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, transport.close)

    def is_closing(self) -> bool:
        return self.closing or self._transport.is_closing()

    def abort(self) -> None:
        self.closing = True
        self._transport.abort()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._transport.write(data)

    def writelines(self, list_of_data: Any) -> None:
        self._transport.writelines(list_of_data)

    def write_eof(self) -> None:
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()
