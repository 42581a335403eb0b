"""The benchmark report: a table on the terminal, and JSON, Markdown and plots for the docs."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")  # no screen here

import matplotlib.pyplot as plt
from subscriptions import PERCENTILES, Latency, ManySubscriptions
from unary import UnaryResult

BASELINES = ("raw aiohttp", "floor")
"""What every client's CPU is divided by in the tables."""


@dataclass(frozen=True)
class Target:
    """One figure checked against its target."""

    figure: str
    measured: float
    unit: str
    target: str
    met: bool

    @property
    def verdict(self) -> str:
        """`pass` or `falls short`."""
        return "pass" if self.met else "falls short"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    packages = ("httpx", "aiohttp", "httptools", "uvicorn", "uvloop", "anyio")
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": model,
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "packages": {name: version(name) for name in packages},
    }


def _format(value: float) -> str:
    return f"{value:,.2f}" if value < 10 else f"{value:,.0f}"


def paired_ratio(mine: UnaryResult, theirs: UnaryResult) -> float:
    """The median, over the rounds, of one round's ratio: a burst of noise on the shared
    machine lands on both sides of a pair more often than on both medians."""
    pairs = zip(mine.cpu_us_per_round, theirs.cpu_us_per_round, strict=True)
    return statistics.median(a / b for a, b in pairs)


def _by_client(unary: list[UnaryResult]) -> dict[tuple[str, str, str, int, str], UnaryResult]:
    return {(r.loop, r.server, r.operation, r.concurrency, r.contender): r for r in unary}


def markdown(targets: list[Target], unary: list[UnaryResult], about: dict[str, Any]) -> str:
    """The tables, as Markdown."""
    lines = [
        f"Measured {about['date']} on {about['cpu']} ({about['cores']} cores), "
        f"{about['system']}, Python {about['python']}; "
        + ", ".join(f"{name} {v}" for name, v in about["packages"].items())
        + ".",
        "",
        "| figure | measured | target | |",
        "|---|---:|---|---|",
    ]
    lines += [
        f"| {t.figure} | {_format(t.measured)} {t.unit} | {t.target} | {t.verdict} |"
        for t in targets
    ]
    lines += [
        "",
        "Client CPU per operation and operations per second (medians of the rounds; each"
        " ratio is the median of the rounds' ratios, a round of each client run side by side):",
        "",
        "| loop | server | operation | at once | client | CPU µs/op | ops/s | ÷ aiohttp "
        "| ÷ floor |",
        "|---|---|---|---:|---|---:|---:|---:|---:|",
    ]
    by_client = _by_client(unary)
    for r in unary:
        where = (r.loop, r.server, r.operation, r.concurrency)
        bases = [by_client.get((*where, base)) for base in BASELINES]
        shown = [f"{paired_ratio(r, b):.2f}" if b else "" for b in bases]
        lines.append(
            f"| {r.loop} | {r.server} | {r.operation} | {r.concurrency} | {r.contender} | "
            f"{r.cpu_us_per_op:,.0f} | {r.ops_per_second:,.0f} | {shown[0]} | {shown[1]} |"
        )
    return "\n".join(lines) + "\n"


def terminal(targets: list[Target]) -> str:
    """The target table, for the terminal."""
    width = max(len(t.figure) for t in targets)
    rows = [f"{'figure':<{width}}  {'measured':>16}  {'target':<16}  verdict"]
    rows += [
        f"{t.figure:<{width}}  {_format(t.measured) + ' ' + t.unit:>16}  {t.target:<16}  "
        f"{t.verdict}"
        for t in targets
    ]
    return "\n".join(rows)


def plot_cpu(unary: list[UnaryResult], path: Path) -> None:
    """Bars of client CPU per operation, every client side by side, on a log scale."""
    first = unary[0]
    shown = [r for r in unary if (r.loop, r.server) == (first.loop, first.server)]
    groups = list(dict.fromkeys((r.operation, r.concurrency) for r in shown))
    contenders = list(dict.fromkeys(r.contender for r in shown))
    by_key = {(r.operation, r.concurrency, r.contender): r.cpu_us_per_op for r in shown}
    figure, axes = plt.subplots(figsize=(10, 4.8))
    width = 0.8 / len(contenders)
    for index, contender in enumerate(contenders):
        xs = [g + index * width for g in range(len(groups))]
        ys = [by_key[(op, c, contender)] for op, c in groups]
        bars = axes.bar(xs, ys, width, label=contender)
        axes.bar_label(bars, labels=[f"{y:.0f}" for y in ys], fontsize="x-small")
    axes.set_yscale("log")
    axes.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))])
    axes.set_xticklabels([f"{op}\n{c} at once" for op, c in groups], fontsize="small")
    axes.set_ylabel("client CPU µs per operation (log scale; lower is better)")
    axes.set_title(f"Client CPU per operation ({first.loop}, against the {first.server} app)")
    axes.set_ylim(top=max(by_key.values()) * 4)  # room for the legend above the bars
    axes.legend(fontsize="small", ncols=len(contenders), loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_latency(latency: Latency, path: Path) -> None:
    """Percentiles of publish → yield, beside an idle round trip at the same rate."""
    figure, axes = plt.subplots(figsize=(7, 4))
    labels = [f"p{p}" for p in PERCENTILES]
    axes.plot(labels, latency.percentiles_ms, marker="o", label="publish → yield, local server")
    axes.plot(labels, latency.relay_percentiles_ms, marker="^", label="publish → yield, bare relay")
    axes.plot(labels, latency.floor_percentiles_ms, marker="s", label="idle get round trip")
    axes.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="p50 target (1 ms)")
    axes.set_ylabel("milliseconds")
    axes.set_ylim(bottom=0)
    axes.set_title(f"Subscription latency on loopback, {latency.rate_per_second:g} messages/s")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_memory(many: ManySubscriptions, target_kb: float, path: Path) -> None:
    """Client memory per idle subscription: Python heap and resident set, against the target."""
    figure, axes = plt.subplots(figsize=(6, 3.6))
    bars = axes.bar(["Python heap", "resident set"], [many.heap_kb_each, many.rss_kb_each])
    axes.bar_label(bars, labels=[f"{many.heap_kb_each:.1f} KB", f"{many.rss_kb_each:.1f} KB"])
    label = f"resident set target ({target_kb:g} KB)"
    axes.axhline(target_kb, color="grey", linestyle="--", linewidth=1, label=label)
    axes.set_ylim(0, max(many.heap_kb_each, many.rss_kb_each, target_kb) * 1.3)
    axes.set_ylabel("KB per subscription")
    axes.set_title(f"Client memory per idle subscription, {many.subscriptions} open")
    axes.legend(fontsize="small", loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(
    folder: Path,
    targets: list[Target],
    unary: list[UnaryResult],
    extra: dict[str, Any],
    plots: dict[str, Any],
) -> None:
    """Write results.json, results.md and the plots into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    about = machine()
    document = {
        "machine": about,
        "targets": [asdict(t) | {"verdict": t.verdict} for t in targets],
        "unary": [asdict(r) for r in unary],
        **extra,
    }
    (folder / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    (folder / "results.md").write_text(markdown(targets, unary, about))
    plot_cpu(unary, folder / "unary_cpu.png")
    plot_latency(plots["latency"], folder / "latency.png")
    plot_memory(plots["many"], plots["rss_target_kb"], folder / "memory.png")
