"""`nox -s bench`: every benchmark, side by side in one run, against servers on loopback.

Usage: python tests/bench/run.py [--quick] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio
from clients import CONTENDERS, SUPPORTED_SDK
from report import Target, terminal, write
from server_throughput import measure_server
from servers import bare_server, local_server
from subscriptions import measure_latency, measure_many, measure_throughput
from unary import UnaryResult, measure_unary

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


FULL = Sizes(5, {1: 500, 64: 1024}, 1000, 30_000, 1000, 1000, 2.0)
QUICK = Sizes(1, {1: 50, 64: 128}, 50, 2_000, 100, 100, 0.3)


def at_most(figure: str, measured: float, unit: str, bound: float) -> Target:
    """A figure that must not exceed `bound`."""
    return Target(figure, measured, unit, f"≤ {bound:g} {unit}", measured <= bound)


def at_least(figure: str, measured: float, unit: str, bound: float) -> Target:
    """A figure that must reach `bound`."""
    return Target(figure, measured, unit, f"≥ {bound:,g} {unit}", measured >= bound)


def unary_targets(unary: list[UnaryResult], sdk_names: list[str]) -> list[Target]:
    """The CPU ratios, taken against the bare ASGI app to isolate the client."""
    server = unary[0].server
    cpu = {
        (r.contender, r.operation, r.concurrency): r.cpu_us_per_op
        for r in unary
        if r.server == server
    }
    concurrencies = sorted({r.concurrency for r in unary})
    targets = [
        at_most(
            f"SDK / raw httpx, CPU per {operation}, {concurrency} at once",
            cpu[("SDK", operation, concurrency)] / cpu[("raw httpx", operation, concurrency)],
            "x",
            1.05,
        )
        for operation in ("get", "set")
        for concurrency in concurrencies
    ]
    for concurrency in concurrencies:
        best = min(sdk_names, key=lambda name: cpu[(name, "get", concurrency)])
        fastest = cpu[(best, "get", concurrency)]
        raw_httpx = cpu[("raw httpx", "get", concurrency)]
        raw_aiohttp = cpu[("raw aiohttp", "get", concurrency)]
        label = f"fastest supported SDK ({best}), CPU per get, {concurrency} at once"
        targets.append(at_most(f"{label} / raw httpx", fastest / raw_httpx, "x", 0.5))
        targets.append(at_most(f"{label} / raw aiohttp", fastest / raw_aiohttp, "x", 1.5))
    return targets


async def main(sizes: Sizes, out: Path) -> None:
    """Run everything, print the table, write the report."""
    started = time.perf_counter()
    contenders = CONTENDERS
    sdk_names = list(SUPPORTED_SDK)
    settings = ["--topic-ring-size", str(sizes.throughput_messages)]
    settings += ["--poll-batch-size", str(BATCH), "--poll-hold-seconds", "120"]
    unary: list[UnaryResult] = []
    with bare_server() as bare, local_server(*settings) as local:
        for server in (bare, local):
            print(f"unary operations against the {server.name} …", flush=True)
            unary += await measure_unary(
                server, contenders, rounds=sizes.rounds, counts=sizes.counts
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
    rate = {r.server: r.requests_per_second for r in rates}
    count = many.subscriptions
    targets = [
        *unary_targets(unary, sdk_names),
        at_most("subscription latency, publish to yield, p50", latency.p50_ms, "ms", 1),
        at_most("subscription latency, publish to yield, p99", latency.p99_ms, "ms", 5),
        at_least(
            f"one subscription, server batches of {BATCH}",
            throughput.messages_per_second,
            "msg/s",
            20_000,
        ),
        at_most(f"client heap per subscription, {count} open", many.heap_kb_each, "KB", 20),
        at_most(f"client RSS per subscription, {count} open", many.rss_kb_each, "KB", 20),
        at_most(
            f"get p99 with {count} subscriptions / without",
            many.get_p99_ms_with_subscriptions / many.get_p99_ms_alone,
            "x",
            1.5,
        ),
        at_least(
            "local server / bare ASGI app, requests/s",
            rate[local.name] / rate[bare.name],
            "x",
            0.7,
        ),
    ]
    extra = {
        "latency": asdict(latency),
        "throughput": asdict(throughput),
        "many_subscriptions": asdict(many),
        "server_rates": [asdict(r) for r in rates],
        "seconds": round(time.perf_counter() - started, 1),
    }
    print()
    print(terminal(targets))
    print(
        f"\nfor scale: an idle round trip (SDK get, bare ASGI app, same rate) takes "
        f"p50 {latency.floor_p50_ms:.2f} ms, p99 {latency.floor_p99_ms:.2f} ms"
    )
    write(out, targets, unary, extra)
    print(f"\nwrote results.json, results.md and unary_cpu.png to {out} in {extra['seconds']} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny sizes")
    parser.add_argument("--out", type=Path, default=DOCS, help=f"where to write (default {DOCS})")
    arguments = parser.parse_args()
    anyio.run(main, QUICK if arguments.quick else FULL, arguments.out)
