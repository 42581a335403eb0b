"""The servers the benchmarks talk to, each in a process of its own.

So the bench process's CPU time is the client's alone.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
TOKEN = "bench-token"
CACHE = "bench"


@dataclass(frozen=True)
class Server:
    """A running server: where it listens and the token it takes."""

    name: str
    base_url: str
    token: str = TOKEN


@contextmanager
def _process(name: str, command: list[str], banner_lines: int) -> Iterator[Server]:
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=HERE) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline().strip()
            for _ in range(banner_lines - 1):
                process.stdout.readline()
            yield Server(name, first.rsplit(" ", 1)[-1])
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def bare_server() -> AbstractContextManager[Server]:
    """The bare ASGI app under uvicorn."""
    return _process("bare ASGI", [sys.executable, "serve.py"], 1)


def local_server(*settings: str) -> AbstractContextManager[Server]:
    """The local Momento server, with `--setting value` flags."""
    command = [sys.executable, "-m", "momento_http.local", "--port", "0"]
    command += ["--token", TOKEN, "--cache", CACHE, *settings]
    return _process("local server", command, 3)
