"""The least an ASGI app can do to answer the Momento HTTP API: the yardstick for the others.

It answers every GET with a fixed 5-byte value, and every PUT, DELETE and POST with 204,
reading the request body first; no auth, no store. Topics are a bare relay: a poll waits
until the next publish to any topic, whose text it answers with the next sequence number
(a message published while no poll waits is gone, as a gap in the numbers says); the
publish is answered after the polls.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

VALUE = b"value"
JSON = [(b"content-type", b"application/json")]
_polls: list[asyncio.Future[bytes]] = []
_sequence = [0]


def _relay(body: bytes) -> None:
    """Answer every waiting poll with the published text."""
    _sequence[0] += 1
    item: dict[str, Any] = {"topic_sequence_number": _sequence[0], "sequence_page": 1}
    item["value"] = {"text": body.decode()}
    answer = json.dumps({"items": [{"item": item}]}, separators=(",", ":")).encode()
    for poll in _polls:
        if not poll.done():
            poll.set_result(answer)
    _polls.clear()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one request."""
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body, more = body + message.get("body", b""), message.get("more_body", False)
    topic = scope["path"].startswith("/topics/")
    if topic and scope["method"] == "GET":
        poll = asyncio.get_running_loop().create_future()
        _polls.append(poll)
        answer = await poll
        await send({"type": "http.response.start", "status": 200, "headers": JSON})
        await send({"type": "http.response.body", "body": answer})
        return
    if topic:
        _relay(body)
        await asyncio.sleep(0)  # the polls answer first, as the local server's do
    if scope["method"] == "GET":
        headers = [(b"content-type", b"application/octet-stream"), (b"content-length", b"5")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": VALUE})
    else:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
