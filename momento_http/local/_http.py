"""Reading a request off ASGI: path, query, headers, body; and the answers that end one early."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote_to_bytes

import anyio

__all__ = [
    "BINARY_TYPE",
    "JSON_TYPE",
    "TEXT_TYPE",
    "ClientGoneError",
    "Receive",
    "RejectError",
    "Response",
    "Scope",
    "Send",
    "check_framing",
    "declared_length",
    "header",
    "key",
    "non_negative_int",
    "origin_path",
    "path_segments",
    "query",
    "read_body",
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

TEXT_TYPE = (b"content-type", b"text/plain; charset=utf-8")
BINARY_TYPE = (b"content-type", b"application/octet-stream")
JSON_TYPE = (b"content-type", b"application/json")
_CLOSE = (b"connection", b"close")


@dataclass(frozen=True, slots=True)
class Response:
    """An answer ready to send, or to cut short (`disconnect`)."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    disconnect: Literal["before_response", "mid_body"] | None = None


class RejectError(Exception):
    """Ends a request early with a plain-text error response.

    Args:
        status: The HTTP status.
        message: The one-line reason, sent as the body.
        close: Close the connection after the answer, rather than wait for the rest of a
            request the client is too slow to send.
    """

    def __init__(self, status: int, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        headers = (TEXT_TYPE, _CLOSE) if close else (TEXT_TYPE,)
        self.response = Response(status, message.encode(), headers)


class ClientGoneError(Exception):
    """The client disconnected before its answer was ready: there is no one to answer."""


# An absolute-form target's scheme and authority: `http://127.0.0.1:8080` (RFC 3986 §3).
_SCHEME_AND_AUTHORITY = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*://[^/]*")


def origin_path(raw_path: bytes) -> bytes:
    """The path of a request target, whether in origin form or in absolute form.

    A client talking to a proxy sends `GET http://host:port/cache/c?key=k`; a server
    must take such a target too (RFC 9112 §3.2.2), and it names this server whatever
    its authority says, as the Host header would.
    """
    found = _SCHEME_AND_AUTHORITY.match(raw_path)
    if found is None:
        return raw_path
    return raw_path[found.end() :] or b"/"


def check_framing(scope: Scope) -> None:
    """Refuse a request framed both by `Content-Length` and by `Transfer-Encoding`.

    Two framings may mean two different requests to two different readers (request
    smuggling). RFC 9112 §6.1 lets a server refuse such a request, and requires it to
    close the connection after answering, whatever it does.

    Raises:
        RejectError: 400, closing the connection.
    """
    names = {name for name, _ in scope["headers"]}
    if b"content-length" in names and b"transfer-encoding" in names:
        raise RejectError(
            400, "a request must not carry both Content-Length and Transfer-Encoding", close=True
        )


def path_segments(raw_path: bytes) -> list[str]:
    """Split the raw path on `/` before unescaping, so a name may hold an escaped `/`."""
    try:
        return [unquote_to_bytes(part).decode("utf-8") for part in raw_path.split(b"/")[1:]]
    except UnicodeDecodeError:
        raise RejectError(400, "the path is not valid UTF-8") from None


def query(query_string: bytes) -> dict[str, str]:
    """The query parameters; each may appear once."""
    try:
        pairs = parse_qsl(query_string.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise RejectError(400, "the query string is malformed") from None
    found: dict[str, str] = {}
    for name, value in pairs:
        if name in found:
            raise RejectError(400, f"the query parameter {name!r} is given more than once")
        found[name] = value
    return found


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a header, as Latin-1 text; None when absent."""
    for found, value in scope["headers"]:
        if found == name:
            return bytes(value).decode("latin-1")
    return None


_MAX_INT_DIGITS = 18  # past this a number is nonsense here, and int() may refuse it


def non_negative_int(params: dict[str, str], name: str) -> int:
    """A query parameter holding a non-negative integer; 0 when absent or empty."""
    text = params.get(name, "") or "0"
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_INT_DIGITS:
        raise RejectError(400, f"{name} must be a non-negative integer")
    return int(text)


def key(params: dict[str, str]) -> bytes:
    """The item key, from `key` (text) or `key_base64` (either alphabet, padded or not)."""
    text, encoded = params.get("key"), params.get("key_base64")
    if (text is None) == (encoded is None):
        raise RejectError(400, "exactly one of the key and key_base64 query parameters must be set")
    if text is not None:
        found = text.encode("utf-8")
    else:
        assert encoded is not None
        cleaned = encoded.replace("-", "+").replace("_", "/")
        try:
            found = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise RejectError(400, "key_base64 is not valid base64") from None
    if not found:
        raise RejectError(400, "the key is empty")
    return found


def declared_length(scope: Scope) -> int:
    """The request's `Content-Length`, or 0 when it declares none."""
    text = header(scope, b"content-length")
    if text is None or not text.isascii() or not text.isdigit():
        return 0
    return int(text) if len(text) <= _MAX_INT_DIGITS else 1 << 62


async def read_body(receive: Receive, limit: int, what: str, seconds: float) -> bytes:
    """The request's body, refused past `limit` bytes or `seconds`.

    Raises:
        RejectError: 413 past the limit; 408 past the timeout.
        ClientGoneError: The client went away.
    """
    chunks: list[bytes] = []
    size = 0
    with anyio.move_on_after(seconds):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGoneError
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                # uvicorn reads and discards the rest, so the client hears the 413.
                raise RejectError(413, f"{what} exceeds the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
    raise RejectError(408, f"the request's body took longer than {seconds:g} s", close=True)
