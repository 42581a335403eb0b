"""The benchmark report: a table on the terminal, and JSON, Markdown and a PNG for the docs."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")  # no screen here

import matplotlib.pyplot as plt
from unary import UnaryResult


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
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": model,
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "packages": {name: version(name) for name in ("httpx", "httpcore", "aiohttp", "uvicorn")},
    }


def _format(value: float) -> str:
    return f"{value:,.2f}" if value < 10 else f"{value:,.0f}"


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
        "Client CPU per operation (median of the rounds) and operations per second:",
        "",
        "| server | operation | concurrency | client | CPU µs/op | ops/s | CPU ÷ raw httpx |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    baseline = {
        (r.server, r.operation, r.concurrency): r.cpu_us_per_op
        for r in unary
        if r.contender == "raw httpx"
    }
    for r in unary:
        ratio = r.cpu_us_per_op / baseline[(r.server, r.operation, r.concurrency)]
        lines.append(
            f"| {r.server} | {r.operation} | {r.concurrency} | {r.contender} | "
            f"{r.cpu_us_per_op:,.0f} | {r.ops_per_second:,.0f} | {ratio:.2f} |"
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


def plot(unary: list[UnaryResult], path: Path) -> None:
    """Bar chart of client CPU per operation against the bare ASGI app."""
    bare = [r for r in unary if r.server == unary[0].server]
    groups = sorted({(r.operation, r.concurrency) for r in bare})
    contenders = list(dict.fromkeys(r.contender for r in bare))
    by_key = {(r.operation, r.concurrency, r.contender): r.cpu_us_per_op for r in bare}
    figure, axes = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(contenders)
    for index, contender in enumerate(contenders):
        xs = [g + index * width for g in range(len(groups))]
        ys = [by_key[(op, c, contender)] for op, c in groups]
        axes.bar(xs, ys, width, label=contender)
    axes.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))])
    axes.set_xticklabels([f"{op}, {c} at once" for op, c in groups])
    axes.set_ylabel("client CPU µs per operation (lower is better)")
    axes.set_title(f"Client CPU per operation, against the {unary[0].server} app")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(
    folder: Path,
    targets: list[Target],
    unary: list[UnaryResult],
    extra: dict[str, Any],
) -> None:
    """Write results.json, results.md and unary_cpu.png into `folder`."""
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
    plot(unary, folder / "unary_cpu.png")
