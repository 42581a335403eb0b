"""Work a subscription leaves to the event loop, outside its caller's tasks.

Its first poll runs in a task of its own (`spawn`). A subscription iterated without
`async with` and dropped (a `break` out of `async for event in client.subscribe(...)`) has
its connection closed on the event loop once the garbage collector takes it
(`close_soon`), as asyncio and trio finalize an async generator.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

__all__ = ["close_soon", "spawn"]

# The event loop keeps only weak references to its tasks.
_CLOSING: set[asyncio.Task[None]] = set()


def spawn(job: Callable[[], Coroutine[Any, Any, None]], name: str) -> asyncio.Task[None] | None:
    """Run `job` in a task of its own, bound to no other task.

    Not in a task group: one entered in `__aenter__` must be left by the same task, and
    pytest-asyncio runs a yield fixture's setup and teardown in two tasks, as services
    often run their start and their stop. Returns the asyncio task (keep it: the event
    loop does not), or None on trio, whose system nursery keeps it.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # trio, anyio's other backend
        import trio  # noqa: PLC0415 - only there

        context = contextvars.copy_context()  # as asyncio's tasks do
        trio.lowlevel.spawn_system_task(job, name=name, context=context)
        return None
    return loop.create_task(job(), name=name)


def _call_soon() -> Callable[[Callable[[], object]], object]:
    """The running event loop's way to run a function soon, from a thread or finalizer.

    Raises:
        RuntimeError: No event loop runs in this thread.
    """
    try:
        return asyncio.get_running_loop().call_soon_threadsafe
    except RuntimeError:
        trio = sys.modules.get("trio")  # imported, if a trio run is what runs here
        if trio is None:
            raise
        return trio.lowlevel.current_trio_token().run_sync_soon  # type: ignore[no-any-return]


def close_soon(aclose: Callable[[], Awaitable[None]]) -> None:
    """Run `aclose` in a task of its own on the event loop of this thread, if one runs.

    For a finalizer (`__del__`): it only asks the loop to start the task, as asyncio and
    trio finalize an async generator. With no loop running here, nothing is done: the
    connection then goes with the garbage.

    Args:
        aclose: What closes the resources left behind.
    """
    try:
        call_soon = _call_soon()
    except RuntimeError:  # no event loop in this thread
        return

    async def close() -> None:
        with contextlib.suppress(Exception):  # nobody is left to tell; a trio system task
            await aclose()  # must not raise

    def start() -> None:
        task = spawn(close, "momento_http release of a dropped subscription")
        if task is not None:
            _CLOSING.add(task)
            task.add_done_callback(_CLOSING.discard)

    with contextlib.suppress(RuntimeError):  # the loop is closing: the socket goes with it
        call_soon(start)
