"""The transport: HTTP/1.1 over sockets, for an httpx or httpx2 client, on asyncio and trio.

It owns connections and their pool, the wire format (`_http11`), dedicated connections for
subscriptions, the try's deadline at every wait, and the mapping of socket and protocol
failures to the exceptions of the request's httpx family. It imports nothing else of the
SDK but `_families`, which says what each family's classes are.

Who may import it: the package root (for `MomentoTransport`), the send path (`_send`) and
topics (`_topics`, for a subscription's dedicated connection), through the names below
only, never its modules (tests/test_layout.py checks both directions).
"""

from momento_http._transport._content import OneChunk
from momento_http._transport._state import (
    REQUEST_STATE,
    DedicatedConnection,
    RequestState,
    current_time,
)
from momento_http._transport._transport import BODY, MomentoTransport

__all__ = [
    "BODY",
    "REQUEST_STATE",
    "DedicatedConnection",
    "MomentoTransport",
    "OneChunk",
    "RequestState",
    "current_time",
]
