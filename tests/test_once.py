"""Once, the event a subscription's first poll sets: many waiters, each cancellable alone."""

from __future__ import annotations

import anyio
import pytest
from conftest import EVENT_LOOPS

from momento_http._topics._once import Once

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module", params=EVENT_LOOPS)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Cancelling one waiter of many is each loop's own cancellation: held on each."""
    return str(request.param)


async def wait_then_note(once: Once, woken: list[str], name: str) -> None:
    await once.wait()
    woken.append(name)


async def test_every_waiter_wakes_and_a_late_one_returns_at_once() -> None:
    once = Once()
    woken: list[str] = []
    async with anyio.create_task_group() as group:
        for name in ("a", "b", "c"):
            group.start_soon(wait_then_note, once, woken, name)
        await anyio.wait_all_tasks_blocked()
        assert woken == []
        assert not once.is_set()
        once.set()
    assert sorted(woken) == ["a", "b", "c"]
    with anyio.fail_after(1):
        await once.wait()  # set already


async def test_a_cancelled_waiter_leaves_the_others_waiting() -> None:
    once = Once()
    woken: list[str] = []
    async with anyio.create_task_group() as group:
        with anyio.CancelScope() as cancelled:
            group.start_soon(wait_then_note, once, woken, "kept")
            await anyio.wait_all_tasks_blocked()
            cancelled.cancel()
            await once.wait()  # cancelled here, before it is set
        assert woken == []
        once.set()
    assert woken == ["kept"]
