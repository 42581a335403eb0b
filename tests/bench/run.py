"""`nox -s bench`: every benchmark, side by side in one run, against servers on loopback.

Usage: python tests/bench/run.py [--quick] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import anyio
from clients import ON_HTTPX2, PEERS, SUPPORTED_SDK
from floor import floor
from report import Target, paired_ratio, terminal, write
from server_throughput import measure_server
from servers import Server, bare_server, local_server
from subscriptions import measure_latency, measure_many, measure_throughput
from unary import OPERATIONS, UnaryResult, measure_unary

DOCS = Path(__file__).parent.parent.parent / "docs" / "benchmarks"
BATCH = 1000


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does; --quick shrinks them all for a smoke run."""

    rounds: int
    counts: dict[int, int]
    latency_messages: int
    throughput_messages: int
    subscriptions: int
    gets: int
    server_seconds: float


FULL = Sizes(7, {1: 500, 64: 1024}, 1000, 30_000, 1000, 1000, 2.0)
QUICK = Sizes(1, {1: 50, 64: 128}, 50, 2_000, 100, 100, 0.3)


def at_most(figure: str, measured: float, unit: str, bound: float) -> Target:
    """A figure that must not exceed `bound`."""
    return Target(figure, measured, unit, f"≤ {bound:g} {unit}", measured <= bound)


def at_least(figure: str, measured: float, unit: str, bound: float) -> Target:
    """A figure that must reach `bound`."""
    return Target(figure, measured, unit, f"≥ {bound:,g} {unit}", measured >= bound)


RSS_TARGET_KB = 16


def unary_targets(unary: list[UnaryResult]) -> list[Target]:
    """The CPU ratios, against the bare ASGI app to isolate the client."""
    cpu = {
        (r.loop, r.operation, r.concurrency, r.contender): r
        for r in unary
        if r.server == "bare ASGI"
    }
    concurrencies = sorted({r.concurrency for r in unary})
    targets = []
    for loop in ("asyncio", "uvloop"):
        on = "" if loop == "asyncio" else ", on uvloop"
        for operation in OPERATIONS:
            for concurrency in concurrencies:
                sdk = cpu.get((loop, operation, concurrency, "SDK"))
                aiohttp = cpu.get((loop, operation, concurrency, "raw aiohttp"))
                if sdk is None or aiohttp is None:
                    continue
                figure = f"SDK / raw aiohttp, CPU per {operation}, {concurrency} at once{on}"
                targets.append(at_most(figure, paired_ratio(sdk, aiohttp), "x", 1.0))
    for concurrency in concurrencies:
        sdk = cpu[("asyncio", "get", concurrency, "SDK")]
        floor_client = cpu[("asyncio", "get", concurrency, "floor")]
        figure = f"SDK / floor, CPU per get, {concurrency} at once (stretch)"
        targets.append(at_most(figure, paired_ratio(sdk, floor_client), "x", 2))
        figure = f"SDK / raw httpx, CPU per get, {concurrency} at once"
        raw_httpx = cpu[("asyncio", "get", concurrency, "raw httpx")]
        targets.append(at_most(figure, paired_ratio(sdk, raw_httpx), "x", 0.5))
    return targets


async def on_asyncio(sizes: Sizes, bare: Server, local: Server) -> dict[str, Any]:
    """Everything but the uvloop round: every client interleaved, then the subscriptions."""
    contenders = {**SUPPORTED_SDK, **ON_HTTPX2, **PEERS, "floor": floor}
    print("unary operations against the bare ASGI app …", flush=True)
    unary = await measure_unary(bare, contenders, rounds=sizes.rounds, counts=sizes.counts)
    print("unary operations against the local server …", flush=True)
    unary += await measure_unary(
        local, contenders, rounds=sizes.rounds, counts=sizes.counts, operations=("get", "set")
    )
    print("subscription latency …", flush=True)
    latency = await measure_latency(
        local, floor_server=bare, messages=sizes.latency_messages, rate=200
    )
    print("subscription throughput …", flush=True)
    throughput = await measure_throughput(
        local, messages=sizes.throughput_messages, batch_size=BATCH
    )
    print(f"{sizes.subscriptions} subscriptions …", flush=True)
    many = await measure_many(local, subscriptions=sizes.subscriptions, gets=sizes.gets)
    print("server requests/s …", flush=True)
    rates = await measure_server(
        [bare, local], rounds=sizes.rounds, seconds=sizes.server_seconds, concurrency=64
    )
    return {
        "unary": unary,
        "latency": latency,
        "throughput": throughput,
        "many": many,
        "rates": rates,
    }


async def on_uvloop(sizes: Sizes, bare: Server) -> list[UnaryResult]:
    """The SDK, aiohttp and the floor again, all on uvloop: the event loop's own share."""
    print("unary operations on uvloop …", flush=True)
    contenders = {**SUPPORTED_SDK, "raw aiohttp": PEERS["raw aiohttp"], "floor": floor}
    return await measure_unary(bare, contenders, rounds=sizes.rounds, counts=sizes.counts)


def main(sizes: Sizes, out: Path) -> None:
    """Run everything, print the table, write the report."""
    started = time.perf_counter()
    settings = ["--topic-ring-size", str(sizes.throughput_messages)]
    settings += ["--poll-batch-size", str(BATCH), "--poll-hold-seconds", "120"]
    with bare_server() as bare, local_server(*settings) as local:
        measured = anyio.run(on_asyncio, sizes, bare, local)
        uvloop_unary = anyio.run(
            on_uvloop, sizes, bare, backend="asyncio", backend_options={"use_uvloop": True}
        )
    unary: list[UnaryResult] = measured["unary"] + uvloop_unary
    latency, throughput, many = measured["latency"], measured["throughput"], measured["many"]
    rate = {r.server: r.requests_per_second for r in measured["rates"]}
    count = many.subscriptions
    targets = [
        *unary_targets(unary),
        at_most("publish to yield, local server, p50", latency.p50_ms, "ms", 1),
        at_most("publish to yield, local server, p99", latency.p99_ms, "ms", 5),
        at_most("publish to yield, bare relay, p50", latency.relay_p50_ms, "ms", 1),
        at_most("publish to yield, bare relay, p99", latency.relay_p99_ms, "ms", 5),
        at_least(
            f"one subscription, server batches of {BATCH}",
            throughput.messages_per_second,
            "msg/s",
            20_000,
        ),
        at_most(f"client heap per subscription, {count} open", many.heap_kb_each, "KB", 20),
        at_most(
            f"client RSS per subscription, {count} open", many.rss_kb_each, "KB", RSS_TARGET_KB
        ),
        at_most(
            f"get p99 with {count} subscriptions / without",
            many.get_p99_ms_with_subscriptions / many.get_p99_ms_alone,
            "x",
            1.5,
        ),
        at_least(
            "local server / bare ASGI app, requests/s",
            rate["local server"] / rate["bare ASGI"],
            "x",
            0.7,
        ),
    ]
    extra = {
        "latency": asdict(latency),
        "throughput": asdict(throughput),
        "many_subscriptions": asdict(many),
        "server_rates": [asdict(r) for r in measured["rates"]],
        "seconds": round(time.perf_counter() - started, 1),
    }
    print()
    print(terminal(targets))
    print(
        f"\nfor scale: an idle round trip (SDK get, bare ASGI app, same rate) takes "
        f"p50 {latency.floor_p50_ms:.2f} ms, p99 {latency.floor_p99_ms:.2f} ms"
    )
    plots = {"latency": latency, "many": many, "rss_target_kb": RSS_TARGET_KB}
    write(out, targets, unary, extra, plots)
    print(f"\nwrote results.json, results.md and the plots to {out} in {extra['seconds']} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny sizes")
    parser.add_argument("--out", type=Path, default=DOCS, help=f"where to write (default {DOCS})")
    arguments = parser.parse_args()
    main(QUICK if arguments.quick else FULL, arguments.out)
