"""Client CPU per operation and operations per second, for each contender side by side."""

from __future__ import annotations

import gc
import itertools
import statistics
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass

import anyio
from clients import Contender, Operations
from servers import Server

KEY = "bench-key"
VALUE = b"v" * 100
OPERATIONS = ("get", "set", "get, new keys")
"""`get` and `set` read and write one key, as a hot key is; the last never repeats a key."""


_COLD = itertools.count()


@dataclass(frozen=True)
class UnaryResult:
    """Medians over the rounds for one contender, operation and concurrency."""

    server: str
    loop: str
    contender: str
    operation: str
    concurrency: int
    cpu_us_per_op: float
    ops_per_second: float
    cpu_us_per_round: tuple[float, ...]
    """Each round's CPU per operation, in the order run: ratios pair them round by round."""


async def _round(
    ops: Operations, operation: str, concurrency: int, count: int
) -> tuple[float, float]:
    """Run `count` operations from `concurrency` tasks; return (CPU s, wall s)."""
    per_task = count // concurrency

    async def worker() -> None:
        if operation == "get":
            for _ in range(per_task):
                await ops.get(KEY)
        elif operation == "set":
            for _ in range(per_task):
                await ops.set(KEY, VALUE)
        else:
            for _ in range(per_task):
                await ops.get(f"cold-{next(_COLD)}")

    cpu, wall = time.process_time(), time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(concurrency):
            group.start_soon(worker)
    return time.process_time() - cpu, time.perf_counter() - wall


async def _fair_round(
    ops: Operations, operation: str, concurrency: int, count: int
) -> tuple[float, float]:
    """A round that starts as every other does: warm connections, a collected heap.

    The client before may have run for seconds (raw httpx at 64 at once does), long enough
    for idle connections to expire, and left its garbage for the next one's collection.
    """
    await _round(ops, operation, concurrency, concurrency)
    gc.collect()
    return await _round(ops, operation, concurrency, count)


async def measure_unary(
    server: Server,
    contenders: dict[str, Contender],
    *,
    rounds: int,
    counts: dict[int, int],
    operations: tuple[str, ...] = OPERATIONS,
) -> list[UnaryResult]:
    """Measure every contender on one server, interleaving them round by round.

    Args:
        server: Where the requests go.
        contenders: Name → how to open it.
        rounds: Rounds per measurement; the medians are reported.
        counts: Concurrency → operations per round.
        operations: Which of `OPERATIONS` to measure.

    Returns:
        One result per contender, operation and concurrency.
    """
    results: list[UnaryResult] = []
    async with AsyncExitStack() as stack:
        opened = {
            name: await stack.enter_async_context(c(server)) for name, c in contenders.items()
        }
        await next(iter(opened.values())).set(KEY, VALUE)
        for operation in operations:
            for concurrency, count in counts.items():
                samples: dict[str, list[tuple[float, float]]] = {name: [] for name in opened}
                for ops in opened.values():  # warm up: connections open, caches filled
                    await _round(ops, operation, concurrency, concurrency * 4)
                for index in range(rounds):
                    # Every other round in reverse, so that no contender always runs first.
                    order = list(opened.items())[:: -1 if index % 2 else 1]
                    for name, ops in order:
                        samples[name].append(await _fair_round(ops, operation, concurrency, count))
                for name, pairs in samples.items():
                    results.append(
                        UnaryResult(
                            server.name,
                            _loop_name(),
                            name,
                            operation,
                            concurrency,
                            statistics.median(cpu for cpu, _ in pairs) / count * 1e6,
                            count / statistics.median(wall for _, wall in pairs),
                            tuple(cpu / count * 1e6 for cpu, _ in pairs),
                        )
                    )
    return results


def _loop_name() -> str:
    """Which event loop runs: asyncio's own, or uvloop."""
    import asyncio

    loop = asyncio.get_running_loop()
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
