"""The ASGI app that speaks the Momento HTTP API: lifespan, routing, fault rules, answering."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace

import anyio
import anyio.lowlevel

from momento_http.local import _http
from momento_http.local._auth import TokenAuthority
from momento_http.local._cache_store import CacheStore
from momento_http.local._connections import ConnectionGuard
from momento_http.local._disconnects import Disconnects
from momento_http.local._fault_injector import FaultInjector, FaultLimitError
from momento_http.local._faults import Fault
from momento_http.local._handlers import Handlers, Request
from momento_http.local._http import (
    JSON_TYPE,
    TEXT_TYPE,
    ClientGoneError,
    Receive,
    RejectError,
    Response,
    Scope,
    Send,
)
from momento_http.local._memory import MemoryBudget
from momento_http.local._openapi import OPENAPI_PATH, openapi_json
from momento_http.local._pages import PageNumbers
from momento_http.local._settings import Settings
from momento_http.local._topic_store import TopicStore

__all__ = ["FAULT_HEADER", "LocalMomentoApp"]

_log = logging.getLogger("momento_http.local")

FAULT_HEADER = b"x-momento-local-fault"
"""A request header holding a fault rule as JSON; the rule may hit this very request."""

_NO_BODY_STATUSES = frozenset({204, 304})  # HTTP forbids these a body
_OPENAPI_SEGMENTS = OPENAPI_PATH.split("/")[1:]


class LocalMomentoApp:
    """An ASGI app serving the Momento HTTP API from memory.

    Args:
        caches: The caches that exist.
        settings: The limits to enforce and how topics behave.
        authority: Checks tokens.
        faults: Rules that make matching requests fail.
        clock: Gives the time in epoch seconds; tests may pass one they control.
        connections: Watches the server's connections, and cuts one for a fault rule.
    """

    def __init__(
        self,
        caches: Iterable[str],
        settings: Settings,
        *,
        authority: TokenAuthority,
        faults: FaultInjector,
        clock: Callable[[], float],
        connections: ConnectionGuard,
    ) -> None:
        # Insertion-ordered, and shared with the handlers: `create_cache` adds to it.
        self._caches = dict.fromkeys(caches)
        self._caches_lock = threading.Lock()  # two threads making caches at once
        self._openapi = openapi_json(sorted(self._caches))
        self._settings = settings
        self._faults = faults
        self._connections = connections
        budget = MemoryBudget(settings.max_memory_bytes)
        self.items = CacheStore(budget, clock)
        self.topics = TopicStore(
            budget,
            ring_size=settings.topic_ring_size,
            idle_seconds=settings.topic_idle_seconds,
            batch_size=settings.poll_batch_size,
            clock=clock,
            new_page=PageNumbers(clock),
        )
        # What goes first when memory runs short: dead items, then idle topics, then
        # live items, then the oldest messages of topics with polls waiting.
        budget.add_shedder(self.items.shed_expired)
        budget.add_shedder(self.topics.shed_idle_topic)
        budget.add_shedder(self.items.shed_least_recently_used)
        budget.add_shedder(self.topics.shed_oldest_message)
        self.budget = budget
        self._disconnects = Disconnects()
        self._handlers = Handlers(
            self._caches.keys(),
            settings,
            authority=authority,
            items=self.items,
            topics=self.topics,
            clock=clock,
            disconnects=self._disconnects,
        )
        self._delays: set[anyio.CancelScope] = set()

    @property
    def caches(self) -> tuple[str, ...]:
        """The caches that exist, in the order they were made."""
        with self._caches_lock:
            return tuple(self._caches)

    def create_cache(self, name: str) -> None:
        """Make a cache, empty; nothing happens if it exists. Safe from any thread."""
        with self._caches_lock:
            if name not in self._caches:
                self._caches[name] = None
                self._openapi = openapi_json(sorted(self._caches))

    @property
    def delayed_requests(self) -> int:
        """How many requests a fault rule's `delay` holds back now; safe from any thread."""
        return len(self._delays)

    def close(self) -> None:
        """Answer every held poll and delayed request at once; call on the event loop."""
        self._connections.stopping = True
        self.topics.close()
        for delay in [*self._delays]:
            delay.cancel()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        client = scope.get("client")
        self._connections.request_started(client)
        try:
            await self._serve(scope, receive, send)
        finally:
            self._connections.request_finished(client)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self._handle(scope, receive)
        except RejectError as reject:
            response = reject.response
        except ClientGoneError:
            return
        except Exception:
            _log.exception("the local server failed on %s %s", scope["method"], scope["path"])
            response = Response(500, b"internal server error", (TEXT_TYPE,))
        if response.disconnect == "before_response":
            await self._drop_connection(scope)
            return
        headers = list(response.headers)
        body = response.body
        if response.status in _NO_BODY_STATUSES:
            body = b""
        else:
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if response.disconnect == "mid_body":
            half = body[: len(body) // 2]
            await send({"type": "http.response.body", "body": half, "more_body": True})
            await self._drop_connection(scope)
            return
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        async with self._disconnects.serving():
            while (message := await receive())["type"] != "lifespan.shutdown":
                if message["type"] == "lifespan.startup":
                    self._connections.started()
                    await send({"type": "lifespan.startup.complete"})
            self.close()
            self._connections.stopped()
        # Only once the watches are over: the server may end the event loop on hearing it.
        await send({"type": "lifespan.shutdown.complete"})

    async def _handle(self, scope: Scope, receive: Receive) -> Response:
        _http.check_framing(scope)
        method = scope["method"]
        raw_path = _http.origin_path(scope.get("raw_path") or scope["path"].encode())
        segments = _http.path_segments(raw_path)
        if segments == _OPENAPI_SEGMENTS and method == "GET":
            return Response(200, self._openapi, (JSON_TYPE,))
        topic: str | None
        allowed: tuple[str, ...]
        match segments:
            case ["cache", cache] if cache:
                topic = None
                allowed = ("GET", "PUT", "DELETE")
            case ["topics", cache, topic] if cache and topic:
                allowed = ("GET", "POST")
            case _:
                return Response(404, b"Not Found", (TEXT_TYPE,))
        if method not in allowed:
            allow = (b"allow", ", ".join(allowed).encode())
            return Response(405, b"Method Not Allowed", (TEXT_TYPE, allow))
        query = _http.query(scope["query_string"])
        identity = None
        rule = _http.header(scope, FAULT_HEADER)
        if rule is not None:
            # Only a request with a valid token may arm a rule for everyone.
            identity = self._handlers.authenticate(scope, query)
            self._arm(rule)
        key = _item_key(query) if topic is None else None
        fault = self._faults.take(method, cache, topic, key)
        if fault is not None and fault.status is not None:
            await self._delay(fault.delay, receive)
            return _fault_answer(fault)
        if identity is None:
            identity = self._handlers.authenticate(scope, query)
        response = await self._handlers.handle(
            Request(method, cache, topic, query, identity), scope, receive
        )
        if fault is not None:  # the work is done; the answer comes late, or never
            await self._delay(fault.delay, receive)
            response = replace(response, disconnect=fault.disconnect)
        return response

    async def _delay(self, seconds: float, receive: Receive) -> None:
        """Hold a request back for a fault rule: `seconds`, or until the server stops.

        Raises:
            ClientGoneError: The client went away meanwhile: there is no one to answer.
        """
        if not seconds or self._connections.stopping:  # answered at once, as close() did the rest
            return
        stop = anyio.CancelScope()
        self._delays.add(stop)
        try:
            with self._disconnects.cancel_on_disconnect(receive) as gone, stop:
                await anyio.sleep(seconds)
        finally:
            self._delays.discard(stop)
        if gone.cancelled_caught:
            raise ClientGoneError

    def _arm(self, rule: str) -> None:
        name = FAULT_HEADER.decode()
        if not self._settings.header_faults:
            raise RejectError(400, f"{name}: this server takes no fault rules from headers")
        try:
            self._faults.add(Fault.from_json(rule))
        except FaultLimitError as error:
            raise RejectError(429, f"{name}: {error}") from None
        except ValueError as error:
            raise RejectError(400, f"{name}: {error}") from None

    async def _drop_connection(self, scope: Scope) -> None:
        """Cut the connection under this request at once, sending nothing more.

        Raises:
            RuntimeError: The connection is not one the guard watches; it will answer 500.
        """
        if not self._connections.abort(scope.get("client")):
            raise RuntimeError("this connection cannot be dropped")
        await anyio.lowlevel.checkpoint()  # let the server notice the loss before the app returns


def _item_key(query: dict[str, str]) -> bytes | None:
    """The item's key, for fault rules to match on; None when it is unreadable."""
    try:
        return _http.key(query)
    except RejectError:  # the handler answers 400 for it, unless a rule answers first
        return None


def _fault_answer(fault: Fault) -> Response:
    headers = [(b"content-type", fault.content_type.encode("latin-1"))]
    if fault.retry_after is not None:
        # Seconds in plain decimals ("2", "0.5"), never an exponent ("1e-07").
        seconds = f"{fault.retry_after:.3f}".rstrip("0").rstrip(".")
        headers.append((b"retry-after", seconds.encode()))
    return Response(fault.status or 500, fault.body, tuple(headers))
