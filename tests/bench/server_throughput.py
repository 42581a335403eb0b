"""The local server's requests per second against the bare ASGI app, both under uvicorn."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import aiohttp
import anyio
from servers import CACHE, Server


@dataclass(frozen=True)
class ServerRate:
    """Requests per second a server answered: the median over rounds."""

    server: str
    requests_per_second: float


async def measure_server(
    servers: list[Server], *, rounds: int, seconds: float, concurrency: int
) -> list[ServerRate]:
    """Load each server with cache GETs from aiohttp, interleaving them round by round.

    The load comes from this process (aiohttp, the cheapest client here), the same for each.

    Args:
        servers: The servers, already holding `bench-key` in `bench`.
        rounds: Rounds per server.
        seconds: How long each round lasts.
        concurrency: Requests in flight.

    Returns:
        One rate per server.
    """
    samples: dict[str, list[float]] = {server.name: [] for server in servers}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        for _ in range(rounds):
            for server in servers:
                samples[server.name].append(await _round(session, server, seconds, concurrency))
    return [ServerRate(name, statistics.median(rates)) for name, rates in samples.items()]


async def _round(
    session: aiohttp.ClientSession, server: Server, seconds: float, concurrency: int
) -> float:
    url = f"{server.base_url}/cache/{CACHE}"
    params = {"key": "bench-key"}
    headers = {"authorization": server.token}
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            async with session.get(url, params=params, headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status
            done += 1

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(concurrency):
            group.start_soon(worker)
    return done / (time.perf_counter() - started)
