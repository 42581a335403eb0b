"""The API itself: who a request speaks for, and what a cache or topic request does."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import anyio.lowlevel

from momento_http.local import _http
from momento_http.local._auth import Action, Identity, TokenAuthority, TokenError
from momento_http.local._cache_store import CacheStore
from momento_http.local._disconnects import Disconnects
from momento_http.local._http import (
    BINARY_TYPE,
    JSON_TYPE,
    TEXT_TYPE,
    ClientGoneError,
    Receive,
    RejectError,
    Response,
    Scope,
)
from momento_http.local._memory import OverBudgetError
from momento_http.local._settings import Settings
from momento_http.local._topic_store import Entry, TopicStore
from momento_http.local._wire import message_value, topic_json

__all__ = ["Handlers", "Request"]


@dataclass(frozen=True, slots=True)
class Request:
    """A routed request: what it names, its query, and whom its token speaks for."""

    method: str
    cache: str
    topic: str | None
    query: dict[str, str]
    identity: Identity


class Handlers:
    """Authenticates requests and serves them from the stores.

    Args:
        caches: The caches that exist, kept as given: caches added to it later count.
        settings: The limits to enforce and how topics behave.
        authority: Checks tokens.
        items: The cache items.
        topics: The topics.
        clock: Gives the time in epoch seconds.
        disconnects: Ends a held poll when its client goes.
    """

    def __init__(
        self,
        caches: Collection[str],
        settings: Settings,
        *,
        authority: TokenAuthority,
        items: CacheStore,
        topics: TopicStore,
        clock: Callable[[], float],
        disconnects: Disconnects,
    ) -> None:
        self._caches = caches
        self._settings = settings
        self._authority = authority
        self._items = items
        self._topics = topics
        self._clock = clock
        self._disconnects = disconnects

    def authenticate(self, scope: Scope, query: dict[str, str]) -> Identity:
        """Whom the request's token speaks for.

        Raises:
            RejectError: 400 with a token in both places, 401 with none or a bad one.
        """
        header, parameter = _http.header(scope, b"authorization"), query.get("token")
        if header is not None and parameter is not None:
            raise RejectError(
                400,
                "only one of the Authorization header and the token query parameter may be set",
            )
        token = header if header is not None else parameter
        if not token:
            raise RejectError(401, "no token: set the Authorization header or the token parameter")
        try:
            return self._authority.verify(token, self._clock())
        except TokenError as error:
            raise RejectError(401, str(error)) from None

    async def handle(self, request: Request, scope: Scope, receive: Receive) -> Response:
        """Serve an authenticated request."""
        try:
            if request.topic is None:
                return await self._cache_request(request, scope, receive)
            return await self._topic_request(request, request.topic, scope, receive)
        except OverBudgetError as error:
            raise RejectError(413, str(error)) from None

    def _authorize(self, request: Request, action: Action) -> None:
        if not request.identity.allows(action, request.cache, request.topic):
            target = request.cache if request.topic is None else f"{request.cache}/{request.topic}"
            raise RejectError(403, f"the token does not grant {action.value} on {target}")
        if request.cache not in self._caches:
            raise RejectError(404, "Cache Not Found")

    async def _body(self, scope: Scope, receive: Receive, limit: int, what: str) -> bytes:
        if _http.declared_length(scope) > limit:
            raise RejectError(413, f"{what} exceeds the limit of {limit} bytes")
        timeout = self._settings.request_timeout_seconds
        return await _http.read_body(receive, limit, what, timeout)

    async def _cache_request(self, request: Request, scope: Scope, receive: Receive) -> Response:
        key = _http.key(request.query)
        if request.method == "GET":
            self._authorize(request, Action.CACHE_READ)
            value = self._items.get(request.cache, key)
            if value is None:
                return Response(404, b"Key Not Found", (TEXT_TYPE,))
            return Response(200, value, (BINARY_TYPE,))
        self._authorize(request, Action.CACHE_WRITE)
        if request.method == "DELETE":
            self._items.delete(request.cache, key)
            return Response(204)
        if "ttl_seconds" not in request.query:
            raise RejectError(400, "ttl_seconds is required")
        ttl = _http.non_negative_int(request.query, "ttl_seconds")
        limit = self._settings.max_ttl_seconds
        if not 0 < ttl <= limit:
            raise RejectError(400, f"ttl_seconds must be between 1 and {limit}")
        room = self._settings.max_item_bytes - len(key)
        if room < 0:
            limit = self._settings.max_item_bytes
            raise RejectError(413, f"the item exceeds the limit of {limit} bytes")
        value = await self._body(scope, receive, room, "the item with its key")
        self._items.set(request.cache, key, value, self._clock() + ttl)
        return Response(204)

    async def _topic_request(
        self, request: Request, topic: str, scope: Scope, receive: Receive
    ) -> Response:
        if request.method == "POST":
            self._authorize(request, Action.TOPIC_PUBLISH)
            limit = self._settings.max_publish_bytes
            body = await self._body(scope, receive, limit, "the message")
            value = message_value(body, _http.header(scope, b"content-type"))
            self._topics.publish(request.cache, topic, value, request.identity.token_id)
            # The polls it woke answer first: on the wire, the message goes before its
            # receipt, one socket write (on loopback, about a tenth of a millisecond) sooner.
            await anyio.lowlevel.checkpoint()
            return Response(204)
        self._authorize(request, Action.TOPIC_SUBSCRIBE)
        sequence_number = _http.non_negative_int(request.query, "sequence_number")
        sequence_page = _http.non_negative_int(request.query, "sequence_page")
        entries: list[Entry] | None = None
        with self._disconnects.cancel_on_disconnect(receive):
            entries = await self._topics.poll(
                request.cache,
                topic,
                sequence_number,
                sequence_page,
                hold=self._settings.poll_hold_seconds,
                heartbeat=self._settings.heartbeat_seconds,
            )
        if entries is None:
            raise ClientGoneError
        body = topic_json(entries, self._settings.extra_fields)
        return Response(200, body, (JSON_TYPE,))
