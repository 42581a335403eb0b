"""Shared fixtures: one local server for the session, a client bound to it, both backends."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
import httpx
import httpx2
import pytest

from momento_http import MomentoClient, MomentoError, Subscription, TopicEvent
from momento_http.local import LocalServer, Settings
from momento_http.local._auth import TokenAuthority

CACHE = "test-cache"
OTHER_CACHE = "other-cache"
ODD_CACHE = "odd cache/ü?&"
REFERENCE_CACHES = ["default-cache", "my-cache"]
POLL_HOLD_SECONDS = 0.5

# pytester runs of users' tests fail on any warning of an unclosed resource.
STRICT_WARNINGS = [
    "-W",
    "error::ResourceWarning",
    "-W",
    "error::pytest.PytestUnraisableExceptionWarning",
]


async def no_wait(seconds: float) -> None:
    """A retry policy's sleep for tests: yields to other tasks, never waits."""
    del seconds
    await anyio.lowlevel.checkpoint()


ROOT = Path(__file__).parent.parent


def source_tree_env(tmp_path: Path, *, without: frozenset[str] = frozenset()) -> dict[str, str]:
    """The environment for `python -S` to import this source tree, as a clone not installed.

    `-S` leaves out site-packages; `PYTHONPATH` names the tree, and a copy of site-packages
    (as links) without the installed momento-http, its code and its metadata, or the
    distributions named in `without` (import names, lower case).
    """
    site_packages = Path(httpx.__file__).parent.parent
    kept = tmp_path / "site-packages"
    kept.mkdir()
    left_out = {"momento_http", *without}
    for entry in site_packages.iterdir():
        if entry.name.lower().lstrip("_").split("-")[0].split(".")[0] not in left_out:
            (kept / entry.name).symlink_to(entry)
    return {"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join([str(ROOT), str(kept)])}


class FakeClock:
    """A clock a test moves forward by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


EVENT_LOOPS = ["asyncio", "trio"]

FAMILIES = [pytest.param(httpx, id="httpx"), pytest.param(httpx2, id="httpx2")]


@pytest.fixture(params=FAMILIES)
def family(request: pytest.FixtureRequest) -> ModuleType:
    """httpx, then httpx2: for a test of what a caller's client of either family does."""
    module: ModuleType = request.param
    return module


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """asyncio: most tests' subject is the same whatever the loop.

    Where the loop matters (the transport, cancellation, a subscription's polling, the local
    server's threads), a test takes every loop with EVERY_LOOP, or its module overrides this
    fixture with `params=EVENT_LOOPS` (and UVLOOP, for the transport's own modules).
    """
    return "asyncio"


EVERY_LOOP = pytest.mark.parametrize("anyio_backend", EVENT_LOOPS)
"""For a test where the loop matters, in a module that runs on asyncio only."""


UVLOOP = pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop")
"""asyncio on uvloop, for the modules that exercise the transport: its transports differ."""

EVERY_LOOP_AND_UVLOOP = pytest.mark.parametrize("anyio_backend", [*EVENT_LOOPS, UVLOOP])
"""For a test that carries bytes over MomentoTransport, in a module that runs on asyncio only."""


@pytest.fixture(scope="session")
def server() -> Iterator[LocalServer]:
    settings = Settings(poll_hold_seconds=POLL_HOLD_SECONDS)
    caches = [CACHE, OTHER_CACHE, ODD_CACHE, *REFERENCE_CACHES]
    with LocalServer(caches, settings=settings) as running:
        yield running


@pytest.fixture
async def client(server: LocalServer) -> AsyncIterator[MomentoClient]:
    """A client bound to the session's server; one try per call, so faults show as they are."""
    async with MomentoClient(
        server.api_key, base_url=server.base_url, default_ttl=60, retry=None
    ) as bound:
        yield bound


@pytest.fixture
def faulty(server: LocalServer) -> Iterator[LocalServer]:
    """The session's server, with no fault rules before or after the test."""
    server.clear_faults()
    yield server
    server.clear_faults()


LOCAL_SERVER_COMMAND = (sys.executable, "-m", "momento_http.local")


@contextmanager
def local_cli(
    *arguments: str, command: tuple[str, ...] = LOCAL_SERVER_COMMAND
) -> Iterator[tuple[str, list[str]]]:
    """Run `python -m momento_http.local --port 0 ...` (or another command) until Ctrl-C.

    Yields:
        Its base URL, and the three lines it printed on starting.
    """
    command = (*command, "--port", "0", *arguments)
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            banner = [process.stdout.readline().strip() for _ in range(3)]
            assert banner[0].startswith("Momento local server at http://127.0.0.1:"), banner
            yield banner[0].rsplit(" ", 1)[1], banner
        finally:
            process.send_signal(signal.SIGINT)  # Ctrl-C: it must stop cleanly
            assert process.wait(timeout=10) == 0


def local_cli_refusal(*arguments: str) -> str:
    """Run the local server's command line with bad arguments; give what it said."""
    result = subprocess.run(
        [sys.executable, "-m", "momento_http.local", *arguments],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    return result.stderr


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked_server(clock: FakeClock) -> Iterator[LocalServer]:
    """A server of its own whose time the test controls."""
    with LocalServer([CACHE], clock=clock, settings=Settings(poll_hold_seconds=0.2)) as running:
        yield running


def unique(prefix: str) -> str:
    """A name no other test uses, for state kept on the session's server."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class SecretsWatch(logging.Handler):
    """Everything the suite shows: log records, error texts, and object reprs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.shown: list[str] = []
        self.tokens: set[str] = set()
        self.servers = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.shown.append(record.getMessage())


def _recording(watch: SecretsWatch, method: Any, record: Any) -> Any:
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        record(self, result)
        return result

    return wrapper


@pytest.fixture(scope="session", autouse=True)
def secrets_watch() -> Iterator[SecretsWatch]:
    """Across the whole session, no token may appear in any log, error, or repr."""
    watch = SecretsWatch()
    root = logging.getLogger()
    level = root.level
    root.addHandler(watch)
    root.setLevel(logging.DEBUG)

    def shown(instance: Any, _: Any) -> None:
        watch.shown.extend((str(instance), repr(instance)))

    def minted(_: Any, token: str) -> None:
        watch.tokens.add(token)

    def server_key(server: LocalServer, _: Any) -> None:
        watch.servers += 1
        watch.tokens.add(server.api_key)
        watch.shown.append(repr(server))

    with pytest.MonkeyPatch.context() as patch:
        for cls, record in (
            (MomentoError, shown),
            (MomentoClient, shown),
            (Subscription, shown),
            (LocalServer, server_key),
        ):
            patch.setattr(cls, "__init__", _recording(watch, cls.__init__, record))
        patch.setattr(TokenAuthority, "mint", _recording(watch, TokenAuthority.mint, minted))
        yield watch
    root.removeHandler(watch)
    root.setLevel(level)
    tokens = {token for token in watch.tokens if len(token) >= 16}
    if watch.servers:  # a server always mints its key: seeing none means a blind watch
        assert tokens, "the watch saw no tokens: it is not watching"
    leaks = [text for text in watch.shown if any(token in text for token in tokens)]
    assert not leaks, f"a token was shown: {leaks[:3]}"


async def until(condition: Callable[[], bool], what: str = "the condition") -> None:
    """Wait until `condition()` holds, looking every few milliseconds, for 10 s at most.

    For counts kept by other threads and tasks (a server's held polls, a subscription's
    stats), which have no event to await.
    """
    with anyio.move_on_after(10):
        while not condition():  # noqa: ASYNC110 - see above
            await anyio.sleep(0.005)
        return
    pytest.fail(f"waited 10 s for {what}")


async def take(subscription: Subscription, count: int) -> list[TopicEvent]:
    """The next `count` events, failing the test if they take longer than 10 seconds."""
    events: list[TopicEvent] = []
    with anyio.fail_after(10):
        async for event in subscription:
            events.append(event)
            if len(events) == count:
                break
    return events


@asynccontextmanager
async def raw_connection(server: LocalServer) -> AsyncIterator[anyio.abc.SocketStream]:
    """A plain socket to the local server, for requests no client library would send."""
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    async with await anyio.connect_tcp(host, int(port)) as stream:
        yield stream


def free_port() -> int:
    """A loopback port nothing listens on (now): connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ipv6_loopback() -> bool:
    """Whether this machine can listen on `::1`."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


class Sleeps:
    """A retry policy's sleep that records each delay instead of waiting.

    Args:
        on: What to run at given sleeps, by count (1 for the first): a server started, an
            outage that goes on.
    """

    def __init__(self, on: dict[int, Callable[[], Awaitable[None]]] | None = None) -> None:
        self.delays: list[float] = []
        self._on = on or {}

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        action = self._on.get(len(self.delays))
        if action is not None:
            await action()
        await anyio.lowlevel.checkpoint()


_PEAK = """
import resource
try:  # this process's own peak: ru_maxrss keeps the pytest process's, across fork and exec
    with open("/proc/self/status") as status:
        print(next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")) // 1024)
except OSError:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def peak_memory_mib(script: str, *arguments: str) -> int:
    """Run a script in a Python process of its own and return that process's peak, in MiB.

    Its own process, so that the peak is the script's alone, not the test run's.
    """
    probe = subprocess.run(
        [sys.executable, "-c", script + _PEAK, *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(probe.stdout.split()[-1])
