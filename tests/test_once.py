"""Once, the event a subscription's first poll sets: many waiters, each cancellable alone."""

from __future__ import annotations

import anyio
import pytest

from momento_http._once import Once

pytestmark = pytest.mark.anyio


async def test_every_waiter_wakes_and_a_late_one_returns_at_once() -> None:
    once = Once()
    woken: list[int] = []

    async def waiter(index: int) -> None:
        await once.wait()
        woken.append(index)

    async with anyio.create_task_group() as group:
        for index in range(3):
            group.start_soon(waiter, index)
        await anyio.wait_all_tasks_blocked()
        assert woken == []
        assert not once.is_set()
        once.set()
    assert sorted(woken) == [0, 1, 2]
    with anyio.fail_after(1):
        await once.wait()  # set already


async def test_a_cancelled_waiter_leaves_the_others_waiting() -> None:
    once = Once()
    woken: list[str] = []

    async def waiter(name: str) -> None:
        await once.wait()
        woken.append(name)

    async with anyio.create_task_group() as group:
        with anyio.CancelScope() as cancelled:
            group.start_soon(waiter, "kept")
            await anyio.wait_all_tasks_blocked()
            cancelled.cancel()
            await once.wait()  # cancelled here, before it is set
        assert woken == []
        once.set()
    assert woken == ["kept"]
