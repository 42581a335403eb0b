"""LocalServer: the local Momento HTTP server on a real loopback socket, in process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from types import TracebackType

import anyio
import anyio.to_thread

from momento_http.local._app import LocalMomentoApp
from momento_http.local._auth import ALL_PERMISSIONS, Permission, TokenAuthority
from momento_http.local._connections import ConnectionGuard, default_max_connections
from momento_http.local._fault_injector import FaultInjector
from momento_http.local._faults import Fault
from momento_http.local._held_polls import WAIT_STEP, HeldPollsWait
from momento_http.local._serving import Serving
from momento_http.local._settings import DEFAULT_CACHE, Settings

__all__ = ["LocalServer"]


class LocalServer:
    """The local Momento HTTP server, serving from its own thread on a loopback socket.

    It works from any event loop (asyncio or trio) and from plain synchronous code:

        async with LocalServer(caches=["my-cache"]) as server:
            client = MomentoClient(server.api_key, base_url=server.base_url)

    Args:
        caches: The caches that exist.
        host: The address to listen on.
        port: The port to listen on; 0 picks a free one.
        token: A fixed token with every permission, accepted as it is.
        settings: The limits to enforce and how topics behave.
        clock: Gives the time in epoch seconds, for TTLs, token expiry and topic idleness;
            tests may pass one they can move forward.
        faults: Fault rules armed from the start.
        fault_seed: Seeds the draws of rules with a probability, for repeatable runs.
    """

    def __init__(
        self,
        caches: Iterable[str] = (DEFAULT_CACHE,),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.time,
        faults: Iterable[Fault] = (),
        fault_seed: int | None = None,
    ) -> None:
        if isinstance(caches, str):
            raise TypeError("caches must be a sequence of names, not one str")
        caches = tuple(caches)
        if not caches or not all(isinstance(c, str) and c for c in caches):
            raise ValueError("caches must be one or more non-empty names")
        if token is not None and not token:
            raise ValueError("token must not be empty")
        self._clock = clock
        settings = settings or Settings()
        self._authority = TokenAuthority([token] if token is not None else [])
        self._faults = FaultInjector(fault_seed, max_rules=settings.max_fault_rules)
        for fault in faults:
            self._faults.add(fault)
        self._connections = ConnectionGuard(
            max_connections=settings.max_connections or default_max_connections(),
            head_timeout=settings.request_timeout_seconds,
        )
        self._app = LocalMomentoApp(
            caches,
            settings,
            authority=self._authority,
            faults=self._faults,
            clock=clock,
            connections=self._connections,
        )
        self._api_key = token if token is not None else self.mint_api_key()
        self._serving = Serving(self._app, self._connections, host, port)

    @property
    def caches(self) -> tuple[str, ...]:
        """The caches that exist: those it was made with, then those made by `create_cache`."""
        return self._app.caches

    def create_cache(self, name: str) -> None:
        """Make a cache, empty, while the server runs or before; nothing happens if it exists.

        Momento makes caches through its control plane, not the HTTP API: this is the
        local server's stand-in, for a test that wants a cache of its own.

        Raises:
            ValueError: The name is not a non-empty string.
        """
        if not (isinstance(name, str) and name):
            raise ValueError(f"a cache name must be a non-empty string, not {name!r:.40}")
        self._app.create_cache(name)

    @property
    def base_url(self) -> str:
        """The URL to give a client's `base_url`, such as `http://127.0.0.1:53117`.

        Raises:
            RuntimeError: The server is not listening.
        """
        base_url = self._serving.base_url
        if base_url is None:
            raise RuntimeError("the local server is not running")
        return base_url

    @property
    def api_key(self) -> str:
        """A token with every permission that never expires."""
        return self._api_key

    def __repr__(self) -> str:
        return f"LocalServer(base_url={self._serving.base_url!r}, caches={self.caches!r})"

    def mint_api_key(
        self,
        permissions: Iterable[Permission] = ALL_PERMISSIONS,
        *,
        expires_in: float | timedelta | None = None,
        token_id: str | None = None,
    ) -> str:
        """Create a token this server accepts, with the given scope and lifetime.

        Args:
            permissions: `CachePermission` and `TopicPermission` objects; every
                permission by default.
            expires_in: Seconds (or a timedelta) from now, on the server's clock, until the
                token is refused; None for never.
            token_id: An id that messages published with the token carry as
                `publisher_id`.

        Returns:
            The token, to pass as a client's `api_key`.
        """
        if isinstance(expires_in, timedelta):
            expires_in = expires_in.total_seconds()
        expires_at = None if expires_in is None else int(self._clock() + expires_in)
        return self._authority.mint(permissions, expires_at=expires_at, token_id=token_id)

    def inject_fault(self, fault: Fault) -> None:
        """Make the next matching requests fail as `fault` says.

        Raises:
            ValueError: `Settings.max_fault_rules` rules are armed already.
        """
        self._faults.add(fault)

    def clear_faults(self) -> None:
        """Disarm every fault rule and reset `fault_hits`."""
        self._faults.clear()

    @property
    def fault_hits(self) -> dict[str, int]:
        """How many requests each kind of fault has hit, such as `{"status 503": 12}`."""
        return dict(self._faults.hits)

    @property
    def delayed_requests(self) -> int:
        """How many requests a fault rule's `delay` holds back now.

        A request stops counting when its delay is over, as soon as its client goes away
        (the request then ends, unanswered), or when the server stops (it is answered).
        """
        return self._app.delayed_requests

    def held_polls(self, cache: str, topic: str) -> int:
        """How many polls of the topic the server holds now, waiting for a message.

        A poll stops counting when it is answered, or when the server notices that its
        client went away.
        """
        return self._app.topics.held_polls(cache, topic)

    async def wait_for_subscribers(
        self,
        cache: str,
        topic: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the sync twin takes the same arguments
    ) -> None:
        """Wait until the server holds at least `count` polls of the topic.

        A subscriber's poll reaches the server a moment after it subscribes; a test that
        publishes before then may see its message missed. Waiting here first makes the
        start deterministic (entering a momento_http subscription sends its first poll):

            async with client.subscribe("cache", "topic") as subscription:
                await server.wait_for_subscribers("cache", "topic")
                await client.publish("cache", "topic", "hello")
                event = await anext(subscription)  # the "hello"

        Works from asyncio and trio; `wait_for_subscribers_sync` is the same for
        synchronous code. It looks at the count every few milliseconds.

        Args:
            cache: The cache the topic is in.
            topic: The topic.
            count: How many held polls to wait for.
            timeout: Seconds to wait at most.

        Raises:
            TimeoutError: Fewer than `count` polls were held when `timeout` passed; the
                message names the topic and how many were held.
            RuntimeError: The server is not running.
        """
        wait = self._wait_for(cache, topic, count, timeout)
        while not wait.done():  # noqa: ASYNC110 - see WAIT_STEP
            await anyio.sleep(WAIT_STEP)

    def wait_for_subscribers_sync(
        self, cache: str, topic: str, count: int = 1, timeout: float = 5.0
    ) -> None:
        """`wait_for_subscribers`, blocking the calling thread: for synchronous code.

        Raises:
            TimeoutError: Fewer than `count` polls were held when `timeout` passed.
            RuntimeError: The server is not running.
        """
        wait = self._wait_for(cache, topic, count, timeout)
        while not wait.done():
            time.sleep(WAIT_STEP)

    def _wait_for(self, cache: str, topic: str, count: int, timeout: float) -> HeldPollsWait:
        if not self._serving.in_background:
            raise RuntimeError("the local server is not running")
        return HeldPollsWait(lambda: self.held_polls(cache, topic), cache, topic, count, timeout)

    def serve_forever(self, on_listening: Callable[[], None] | None = None) -> None:
        """Serve in this thread until interrupted (Ctrl-C); what the command line runs.

        Args:
            on_listening: Called once the socket listens, when `base_url` is known.
        """
        self._serving.serve_forever(on_listening)

    def start(self) -> None:
        """Start serving in a background thread; returns once connections are accepted."""
        self._serving.start()

    def stop(self) -> None:
        """Stop serving; held polls and delayed requests are answered at once."""
        self._serving.stop()

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LocalServer:
        await anyio.to_thread.run_sync(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self.stop)
