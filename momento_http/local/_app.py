"""The ASGI app that speaks the Momento HTTP API: routing, auth, and the handlers."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import anyio
import anyio.lowlevel
from anyio.lowlevel import EventLoopToken

from momento_http.local._auth import Action, Identity, TokenAuthority, TokenError
from momento_http.local._cache_store import CacheStore
from momento_http.local._faults import Disconnect, Fault, FaultInjector
from momento_http.local._openapi import OPENAPI_PATH, openapi_json
from momento_http.local._settings import Settings
from momento_http.local._topic_store import Entry, Gap, Heartbeat, TopicStore

__all__ = ["LocalMomentoApp"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_log = logging.getLogger("momento_http.local")

_TEXT_TYPE = (b"content-type", b"text/plain; charset=utf-8")
_BINARY_TYPE = (b"content-type", b"application/octet-stream")
_JSON_TYPE = (b"content-type", b"application/json")


FAULT_HEADER = b"x-momento-local-fault"
"""A request header holding a fault rule as JSON; the rule may hit this very request."""


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    body: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    disconnect: Disconnect | None = None


class _RejectError(Exception):
    """Ends a request early with a plain-text error response."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.response = _Response(status, message.encode(), (_TEXT_TYPE,))


class _ClientGoneError(Exception):
    """The client disconnected before its answer was ready: there is no one to answer."""


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    cache: str
    topic: str | None
    query: dict[str, str]
    identity: Identity


def _path_segments(raw_path: bytes) -> list[str]:
    """Split the raw path on `/` before unescaping, so a name may hold an escaped `/`."""
    try:
        return [unquote_to_bytes(part).decode("utf-8") for part in raw_path.split(b"/")[1:]]
    except UnicodeDecodeError:
        raise _RejectError(400, "the path is not valid UTF-8") from None


def _query(query_string: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(query_string.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise _RejectError(400, "the query string is malformed") from None
    query: dict[str, str] = {}
    for name, value in pairs:
        if name in query:
            raise _RejectError(400, f"the query parameter {name!r} is given more than once")
        query[name] = value
    return query


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


_MAX_INT_DIGITS = 18  # past this a number is nonsense here, and int() may refuse it


def _non_negative_int(query: dict[str, str], name: str) -> int:
    text = query.get(name, "") or "0"
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_INT_DIGITS:
        raise _RejectError(400, f"{name} must be a non-negative integer")
    return int(text)


def _key(query: dict[str, str]) -> bytes:
    text, encoded = query.get("key"), query.get("key_base64")
    if (text is None) == (encoded is None):
        raise _RejectError(
            400, "exactly one of the key and key_base64 query parameters must be set"
        )
    if text is not None:
        key = text.encode("utf-8")
    else:
        assert encoded is not None
        cleaned = encoded.replace("-", "+").replace("_", "/")
        try:
            key = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise _RejectError(400, "key_base64 is not valid base64") from None
    if not key:
        raise _RejectError(400, "the key is empty")
    return key


async def _read_body(receive: Receive, limit: int, what: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGoneError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _RejectError(413, f"{what} exceeds the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _declared_length(scope: Scope) -> int:
    text = _header(scope, b"content-length")
    return int(text) if text is not None and text.isdigit() else 0


def _entry_json(entry: Entry) -> dict[str, Any]:
    if isinstance(entry, Heartbeat):
        return {"heartbeat": {}}
    if isinstance(entry, Gap):
        return {
            "discontinuity": {
                "last_topic_sequence": entry.last_sequence_number,
                "new_topic_sequence": entry.new_sequence_number,
                "new_sequence_page": entry.new_sequence_page,
            }
        }
    value = (
        {"text": entry.value}
        if isinstance(entry.value, str)
        else {"binary": base64.b64encode(entry.value).decode("ascii")}
    )
    item: dict[str, Any] = {
        "topic_sequence_number": entry.sequence_number,
        "sequence_page": entry.sequence_page,
        "value": value,
    }
    if entry.publisher_id is not None:
        item["publisher_id"] = entry.publisher_id
    return {"item": item}


def _with_unknown_fields(item: dict[str, Any]) -> dict[str, Any]:
    """The same item with a field no client knows at each level."""
    ((kind, body),) = item.items()
    return {kind: {**body, "x_future_field": [1, "two"]}, "x_future_sibling": True}


def _topic_json(entries: Iterable[Entry], extra_fields: bool) -> bytes:
    items = [_entry_json(entry) for entry in entries]
    answer: dict[str, Any] = {"items": items}
    if extra_fields:
        items[:] = [_with_unknown_fields(item) for item in items]
        items.insert(0, {"x_future_kind": {"anything": 1}})
        answer["x_future_top_level"] = {"ignored": True}
    return json.dumps(answer, separators=(",", ":")).encode()


def _message_value(body: bytes, content_type: str | None) -> str | bytes:
    """Text for `text/plain`, bytes for octet-stream; otherwise text when the body is UTF-8.

    `curl -d` sends `application/x-www-form-urlencoded`, and the reference pages' publish
    examples use it for text.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == "application/octet-stream":
        return body
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        if media_type == "text/plain":
            raise _RejectError(400, "a text/plain message must be valid UTF-8") from None
        return body


class LocalMomentoApp:
    """An ASGI app serving the Momento HTTP API from memory.

    Args:
        caches: The caches that exist.
        settings: The limits to enforce and how topics behave.
        authority: Checks tokens.
        faults: Rules that make matching requests fail.
        clock: Gives the time in epoch seconds; tests may pass one they control.
    """

    def __init__(
        self,
        caches: Iterable[str],
        settings: Settings,
        authority: TokenAuthority,
        faults: FaultInjector,
        clock: Callable[[], float],
    ) -> None:
        self._caches = frozenset(caches)
        self._openapi = openapi_json(sorted(self._caches))
        self._settings = settings
        self._authority = authority
        self._faults = faults
        self._clock = clock
        self._items = CacheStore(settings.max_memory_bytes)
        self._topics = TopicStore(
            ring_size=settings.topic_ring_size,
            idle_seconds=settings.topic_idle_seconds,
            batch_size=settings.poll_batch_size,
            clock=clock,
            new_page=self._new_page,
        )
        self._last_page = 0
        self.event_loop_token: EventLoopToken | None = None

    def _new_page(self) -> int:
        # Milliseconds since the epoch, kept increasing so a recreated topic gets a new page.
        self._last_page = max(int(self._clock() * 1000), self._last_page + 1)
        return self._last_page

    def close(self) -> None:
        """Answer every held poll at once; call on the server's event loop."""
        self._topics.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            response = await self._handle(scope, receive)
        except _RejectError as reject:
            response = reject.response
        except _ClientGoneError:
            return
        except Exception:
            _log.exception("the local server failed on %s %s", scope["method"], scope["path"])
            response = _Response(500, b"internal server error", (_TEXT_TYPE,))
        if response.disconnect == "before_response":
            await _drop_connection(receive)
            return
        headers = list(response.headers)
        if response.status != 204:  # noqa: PLR2004 - a 204 carries no Content-Length
            headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if response.disconnect == "mid_body":
            half = response.body[: len(response.body) // 2]
            await send({"type": "http.response.body", "body": half, "more_body": True})
            await _drop_connection(receive)
            return
        await send({"type": "http.response.body", "body": response.body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.event_loop_token = anyio.lowlevel.current_token()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _handle(self, scope: Scope, receive: Receive) -> _Response:
        method = scope["method"]
        if scope["path"] == OPENAPI_PATH and method == "GET":
            return _Response(200, self._openapi, (_JSON_TYPE,))
        topic: str | None
        allowed: tuple[str, ...]
        segments = _path_segments(scope.get("raw_path") or scope["path"].encode())
        match segments:
            case ["cache", cache] if cache:
                topic = None
                allowed = ("GET", "PUT", "DELETE")
            case ["topics", cache, topic] if cache and topic:
                allowed = ("GET", "POST")
            case _:
                return _Response(404, b"Not Found", (_TEXT_TYPE,))
        if method not in allowed:
            allow = (b"allow", ", ".join(allowed).encode())
            return _Response(405, b"Method Not Allowed", (_TEXT_TYPE, allow))
        rule = _header(scope, FAULT_HEADER)
        if rule is not None:
            try:
                self._faults.add(Fault.from_json(rule))
            except ValueError as error:
                raise _RejectError(400, f"{FAULT_HEADER.decode()}: {error}") from None
        fault = self._faults.take(method, cache, topic)
        if fault is not None and fault.status is not None:
            await anyio.sleep(fault.delay)
            headers = [(b"content-type", fault.content_type.encode("latin-1"))]
            if fault.retry_after is not None:
                headers.append((b"retry-after", f"{fault.retry_after:g}".encode()))
            body = b"" if fault.status == 204 else fault.body  # noqa: PLR2004
            return _Response(fault.status, body, tuple(headers))
        query = _query(scope["query_string"])
        identity = self._authenticate(scope, query)
        request = _Request(method, cache, topic, query, identity)
        if topic is None:
            response = await self._cache_request(request, scope, receive)
        else:
            response = await self._topic_request(request, scope, receive)
        if fault is not None:  # the work is done; the answer comes late, or never
            await anyio.sleep(fault.delay)
            response = replace(response, disconnect=fault.disconnect)
        return response

    def _authenticate(self, scope: Scope, query: dict[str, str]) -> Identity:
        header, parameter = _header(scope, b"authorization"), query.get("token")
        if header is not None and parameter is not None:
            raise _RejectError(
                400,
                "only one of the Authorization header and the token query parameter may be set",
            )
        token = header if header is not None else parameter
        if not token:
            raise _RejectError(401, "no token: set the Authorization header or the token parameter")
        try:
            return self._authority.verify(token, self._clock())
        except TokenError as error:
            raise _RejectError(401, str(error)) from None

    def _authorize(self, request: _Request, action: Action) -> None:
        if not request.identity.allows(action, request.cache, request.topic):
            target = request.cache if request.topic is None else f"{request.cache}/{request.topic}"
            raise _RejectError(403, f"the token does not grant {action.value} on {target}")
        if request.cache not in self._caches:
            raise _RejectError(404, "Cache Not Found")

    async def _cache_request(self, request: _Request, scope: Scope, receive: Receive) -> _Response:
        key = _key(request.query)
        now = self._clock()
        if request.method == "GET":
            self._authorize(request, Action.CACHE_READ)
            value = self._items.get(request.cache, key, now)
            if value is None:
                return _Response(404, b"Key Not Found", (_TEXT_TYPE,))
            return _Response(200, value, (_BINARY_TYPE,))
        self._authorize(request, Action.CACHE_WRITE)
        if request.method == "DELETE":
            self._items.delete(request.cache, key)
            return _Response(204)
        if "ttl_seconds" not in request.query:
            raise _RejectError(400, "ttl_seconds is required")
        ttl = _non_negative_int(request.query, "ttl_seconds")
        if not 0 < ttl <= self._settings.max_ttl_seconds:
            raise _RejectError(
                400, f"ttl_seconds must be between 1 and {self._settings.max_ttl_seconds}"
            )
        room = self._settings.max_item_bytes - len(key)
        if _declared_length(scope) > room:
            raise _RejectError(
                413, f"the item exceeds the limit of {self._settings.max_item_bytes} bytes"
            )
        value = await _read_body(receive, room, "the item with its key")
        self._items.set(request.cache, key, value, now + ttl, now)
        return _Response(204)

    async def _topic_request(self, request: _Request, scope: Scope, receive: Receive) -> _Response:
        assert request.topic is not None
        if request.method == "POST":
            self._authorize(request, Action.TOPIC_PUBLISH)
            limit = self._settings.max_publish_bytes
            if _declared_length(scope) > limit:
                raise _RejectError(413, f"the message exceeds the limit of {limit} bytes")
            body = await _read_body(receive, limit, "the message")
            value = _message_value(body, _header(scope, b"content-type"))
            self._topics.publish(request.cache, request.topic, value, request.identity.token_id)
            return _Response(204)
        self._authorize(request, Action.TOPIC_SUBSCRIBE)
        sequence_number = _non_negative_int(request.query, "sequence_number")
        sequence_page = _non_negative_int(request.query, "sequence_page")
        entries: list[Entry] | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
            entries = await self._topics.poll(
                request.cache,
                request.topic,
                sequence_number,
                sequence_page,
                hold=self._settings.poll_hold_seconds,
                heartbeat=self._settings.heartbeat_seconds,
            )
            group.cancel_scope.cancel()
        if entries is None:
            raise _ClientGoneError
        body = _topic_json(entries, self._settings.extra_fields)
        return _Response(200, body, (_JSON_TYPE,))


async def _drop_connection(receive: Receive) -> None:
    """Cut the connection under this request at once, sending nothing more.

    ASGI has no message for this. uvicorn's `receive` is a method of the object holding
    the connection's transport, so the transport is reached through it.

    Raises:
        RuntimeError: The ASGI server offers no transport to cut; it will answer 500.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("this ASGI server offers no way to drop a connection")
    transport.abort()
    await anyio.lowlevel.checkpoint()  # let the server notice the loss before the app returns


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()
