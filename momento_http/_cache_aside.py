"""Cache-aside reads: on a miss, one load per item for all of a client's concurrent callers.

The first caller of an item leads its flight: it reads the item, and on a miss runs `load`
and stores the value. Callers that come while the flight is up wait for it and share its
outcome: the value, or the exception of the read or the load.

The flight runs in its leader's task, so `load` sees the leader's context variables and is
cancelled with it. A waiter that is cancelled only stops waiting. A leader cancelled before
the value is known abandons the flight, and the first waiter to wake leads a new one (which
reads again, then loads again on a miss). Once the value is known, the waiters have it at
once, and callers still find it until the store is over, so none of them loads it again.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypeAlias

import anyio

from momento_http._errors import InvalidArgumentError, MomentoError
from momento_http._logs import LOGGER
from momento_http._send import Call, Sender
from momento_http._validation import Value, encode_value

__all__ = ["CacheAside", "Loader"]

Loader: TypeAlias = Callable[[], Value | Awaitable[Value]]
"""A function, plain or async, that makes an item's value on a miss."""

_Item: TypeAlias = tuple[str, tuple[tuple[str, str], ...]]


class _Flight:
    """One item's read, load and store, as its waiters see it."""

    __slots__ = ("error", "landed", "traceback", "value")

    def __init__(self) -> None:
        self.landed = anyio.Event()
        self.value: bytes | None = None
        self.error: Exception | None = None
        self.traceback: TracebackType | None = None

    def land(self, value: bytes) -> None:
        self.value = value
        self.landed.set()

    def fail(self, error: Exception) -> None:
        self.error, self.traceback = error, error.__traceback__
        self.landed.set()


class CacheAside:
    """A client's cache-aside reads, one flight per item at a time.

    Args:
        sender: The client's send path.
    """

    def __init__(self, sender: Sender) -> None:
        self._sender = sender
        self._flights: dict[_Item, _Flight] = {}

    @property
    def in_flight(self) -> int:
        """How many items have a flight up now."""
        return len(self._flights)

    async def get_or_set(self, read: Call[bytes | None], store: Call[None], load: Loader) -> bytes:
        """The item's value: read, or on a miss loaded and stored, once for all callers.

        Args:
            read: The item's `get`, already checked.
            store: The item's `set`, already checked; its body is the loaded value.
            load: What makes the value on a miss.

        Returns:
            The value's bytes.

        Raises:
            InvalidArgumentError: `load` is not callable, or returned neither str nor bytes.
            MomentoError: The read failed.
            Exception: Whatever `load` raised.
        """
        if not callable(load):
            raise InvalidArgumentError(f"load must be callable, not {type(load).__name__}")
        # The item as the API names it: a text key and its UTF-8 bytes share a flight.
        item = (read.path, tuple(read.query.items()))
        while (flight := self._flights.get(item)) is not None:
            await flight.landed.wait()  # a cancelled waiter leaves the flight alone
            if flight.error is not None:
                raise flight.error.with_traceback(flight.traceback)
            if flight.value is not None:
                return flight.value
            # Abandoned, its leader cancelled: the first waiter here leads the next one.
        flight = self._flights[item] = _Flight()
        try:
            return await self._lead(flight, read, store, load)
        finally:
            del self._flights[item]
            flight.landed.set()  # wakes the waiters of an abandoned flight

    async def _lead(
        self, flight: _Flight, read: Call[bytes | None], store: Call[None], load: Loader
    ) -> bytes:
        try:
            value = await self._sender.send(read)
            if value is not None:
                flight.land(value)
                return value
            loaded = load()
            if inspect.isawaitable(loaded):
                loaded = await loaded
            value = encode_value(loaded)
        except Exception as error:
            flight.fail(error)
            raise
        flight.land(value)
        store.body = value
        try:
            await self._sender.send(store)
        except MomentoError as error:
            LOGGER.warning("get_or_set: the loaded value is returned but not stored: %s", error)
        return value
