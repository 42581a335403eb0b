"""Every example the docs show runs as printed, and prints what the docs say.

Each example is a whole script, run here as a user would run it: `python X.py`.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import anyio
import anyio.abc
import httpx
import pytest
import trustme
from anyio.from_thread import start_blocking_portal
from conftest import STRICT_WARNINGS
from tls_front import tls_front

from momento_http.local import LocalServer

EXAMPLES = Path(__file__).parent.parent / "examples"
COLUMNS = 80  # what a code block of the docs shows without scrolling sideways

# What each example prints, in order (the lines it must contain, not all of them).
EXPECTED: dict[str, list[str | re.Pattern[str]]] = {
    "quickstart": [
        "no MOMENTO_API_KEY: a local Momento server at http://127.0.0.1:",
        "get     greeting -> b'hello, momento'",
        "get     greeting -> None (a miss)",
        # The local server says when it holds the poll: no message is missed.
        "receive news #1 -> 'hello, subscribers'",
        "receive news #2 -> 'how are you?'",
        "receive news #3 -> 'goodbye'",
        "resume  from sequence_number=4, sequence_page=",
    ],
    "cache_operations": ["b'hello'", "b'\\xff\\xfe'", "greeting: miss", "b'soon gone'"],
    "cache_aside": [
        "10 requests, 1 query: b'soup, bread, cheese'",
        "a hit: b'soup, bread, cheese'; queries: 1",
        "specials: the kitchen is closed; cached: None",
    ],
    "resume_subscription": [
        "#1: 'order 1'",
        "#2: 'order 2'",
        "stopped; saved position: sequence_number=3",
        "#3: 'order 3'",
        "#4: 'order 4'",
    ],
    # Under ten seconds however loaded the machine: it did not wait out the poll's 30 s hold.
    "cancellation": [re.compile(r"gave up after \d\.\d s; closed: True")],
    "topic_consumer": [
        "handled 'order 1'",
        "handled 'order 1'",
        "both consumers ended with the client",
    ],
    "errors_and_retries": [
        "bad input: ttl must be positive, not -1 seconds",
        "404: Cache Not Found (GET)",
        "set k with a patient retry policy",
    ],
    "credentials": [
        "https://api.cache.cell-1-eu-west-1-1.prod.a.momentohq.com",
        "https://api.cache.cell-4-us-west-2-1.prod.a.momentohq.com",
        "http://127.0.0.1:8080",
    ],
    "http_client": [
        "get -> b'hello'",
        "get -> None",
        "answers by status: {204: 1, 200: 1, 404: 1}",
        "requests timed: 3",
    ],
    "httpx2_client": [
        "get -> b'hello'",
        "CacheNotFoundError 404",
        "httpx2 200",
        "spans: ['PUT', 'GET', 'GET', 'GET']",
    ],
    "tracing": ["PUT http://127.0.0.1:", "ttl_seconds=60 204", "GET http://", "key=greeting 200"],
    "token_provider": ["0 b'order 0'", "4 b'order 4'", "tokens fetched: "],
    "local_server": [
        "None",
        "read-only key: 403 the token does not grant cache_write on menu",
        "None",
        "without retries: 503 maintenance",
        "faults served: {'status 503': 2}",
        "the subscriber heard: TopicItem(value='soup of the day', sequence_number=1",
    ],
}


# Run behind a TLS front whose certificate a private authority signed: each reads the variable
# named here, set to the authority's certificate (PEM), and the key and URL from the environment.
BEHIND_TLS: dict[str, tuple[str, list[str | re.Pattern[str]]]] = {
    "private_ca": ("CA_FILE", ["base URL: https://localhost:", "get -> b'hello over TLS'"]),
    "ssl_cert_file": (
        "SSL_CERT_FILE",
        ["base URL: https://localhost:", "get -> b'hello, trusted'"],
    ),
    "system_trust_store": (
        "SSL_CERT_FILE",  # truststore on Linux: the bundle OpenSSL reads, which this names
        ["base URL: https://localhost:", "get -> b'hello, system'"],
    ),
}


def assert_in_order(output: str, expected: Sequence[str | re.Pattern[str]]) -> None:
    position = 0
    for text in expected:
        pattern = text if isinstance(text, re.Pattern) else re.compile(re.escape(text))
        found = pattern.search(output, position)
        assert found, f"{pattern.pattern!r} not found after position {position} in:\n{output}"
        position = found.end()


def run_script(*command: str, env: dict[str, str] | None = None) -> str:
    """Run a command in examples/, with no MOMENTO_ variable but those in `env`."""
    result = subprocess.run(
        command,
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**_without_momento_key(), **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def _without_momento_key() -> dict[str, str]:
    """This process's environment without MOMENTO_ variables or a certificate bundle."""
    unset = {"SSL_CERT_FILE", "SSL_CERT_DIR"}
    return {k: v for k, v in os.environ.items() if not k.startswith("MOMENTO_") and k not in unset}


def test_every_example_is_run_here() -> None:
    scripts = {path.stem for path in EXAMPLES.glob("*.py")}
    assert scripts == set(EXPECTED) | set(BEHIND_TLS)


@pytest.mark.parametrize("name", EXPECTED)
def test_each_example_runs_as_a_script(name: str) -> None:
    output = run_script(sys.executable, "-W", "error", f"{name}.py")
    assert_in_order(output, EXPECTED[name])


@pytest.fixture(scope="module")
def behind_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A local server behind a TLS front for `localhost`; the authority's PEM in `ca`."""
    authority = trustme.CA()
    ca = tmp_path_factory.mktemp("authority") / "ca.pem"
    authority.cert_pem.write_to_path(str(ca))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(context)
    with LocalServer(["default-cache"]) as momento, start_blocking_portal() as portal:
        backend = httpx.URL(momento.base_url).port
        assert backend is not None
        with portal.wrap_async_context_manager(tls_front(backend, context)) as port:
            yield {
                "MOMENTO_API_KEY": momento.api_key,
                "MOMENTO_BASE_URL": f"https://localhost:{port}",
                "ca": str(ca),
            }


@pytest.mark.parametrize("name", BEHIND_TLS)
def test_each_tls_example_connects_trusting_the_private_authority(
    name: str, behind_tls: dict[str, str]
) -> None:
    variable, expected = BEHIND_TLS[name]
    env = {"MOMENTO_API_KEY": behind_tls["MOMENTO_API_KEY"], variable: behind_tls["ca"]}
    env["MOMENTO_BASE_URL"] = behind_tls["MOMENTO_BASE_URL"]
    output = run_script(sys.executable, "-W", "error", f"{name}.py", env=env)
    assert_in_order(output, [*expected])


def test_without_ssl_cert_file_the_private_authority_is_refused_and_said_so(
    behind_tls: dict[str, str],
) -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "ssl_cert_file.py"],
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            **_without_momento_key(),
            "MOMENTO_API_KEY": behind_tls["MOMENTO_API_KEY"],
            "MOMENTO_BASE_URL": behind_tls["MOMENTO_BASE_URL"],
        },
    )
    assert result.returncode == 1, result.stderr
    assert "refused: " in result.stdout
    assert "unable to get local issuer certificate" in result.stdout
    assert "Traceback" not in result.stderr


def test_the_quickstart_runs_on_momento_when_a_key_is_set() -> None:
    """With MOMENTO_API_KEY it takes the key, the URL and the cache from the environment."""
    with LocalServer(["quickstart-cache"]) as momento:  # stands in for Momento
        base_url = momento.base_url
        output = run_script(
            sys.executable,
            "-W",
            "error",
            "quickstart.py",
            env={
                "MOMENTO_API_KEY": momento.api_key,
                "MOMENTO_BASE_URL": base_url,
                "MOMENTO_CACHE_NAME": "quickstart-cache",
            },
        )
    assert "no MOMENTO_API_KEY" not in output
    # Without a local server to ask, a message published at once may come before the
    # start: only what does not depend on that window is checked.
    assert_in_order(
        output,
        [
            f"client  -> {base_url}, cache 'quickstart-cache'",
            "get     greeting -> b'hello, momento'",
            "get     greeting -> None (a miss)",
            "publish news <- 'goodbye'",
            "resume  from sequence_number=",
        ],
    )


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.partition(".")[0])
    return found


def test_no_example_leans_on_a_module_the_docs_do_not_show() -> None:
    """Each is complete as shown: it imports only the SDK, the standard library, packages.

    A service (asgi_service/, its page shows all of it) imports its own modules too.
    """
    examples = {path.stem for path in EXAMPLES.rglob("*.py")}
    for path in EXAMPLES.rglob("*.py"):
        top = EXAMPLES / path.relative_to(EXAMPLES).parts[0]
        own = {p.stem for p in top.rglob("*.py")} if top.is_dir() else set()
        helpers = _imported_modules(path) & (examples - own)
        assert not helpers, f"{path.name} imports {sorted(helpers)} from examples/"


def test_every_example_line_fits_the_docs_column() -> None:
    for path in sorted(EXAMPLES.rglob("*")):
        if path.suffix not in {".py", ".sh"} and path.name != "pyproject.toml":
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        long = [n for n, line in enumerate(lines, 1) if len(line) > COLUMNS]
        assert not long, f"{path.name}: lines {long} are longer than {COLUMNS} characters"


def test_the_command_line_example(tmp_path: Path) -> None:
    bin_dir = str(Path(sys.executable).parent)
    with LocalServer(["my-cache"]) as server:
        output = run_script(
            "sh",
            "cli.sh",
            env={
                "MOMENTO_API_KEY": server.api_key,
                "MOMENTO_BASE_URL": str(server.base_url),
                "PATH": os.pathsep.join([bin_dir, os.environ["PATH"]]),
            },
        )
    lines = output.splitlines()
    assert lines[0] == "hello"
    assert lines[1] == "a miss: exit status 1"
    assert '"value": "first", "sequence_number": 1' in lines[2]
    assert '"value": "second", "sequence_number": 2' in lines[3]
    assert server.api_key not in output
    # It reads the variables the command line does, no shell variable of its own.
    script = (EXAMPLES / "cli.sh").read_text(encoding="utf-8")
    assert set(re.findall(r"\$\{?(\w+)", script)) == {"0"}


def test_the_testing_example_passes_under_pytest_asyncio(pytester: pytest.Pytester) -> None:
    for path in (EXAMPLES / "testing").glob("*.py"):
        pytester.makepyfile(**{path.stem: path.read_text(encoding="utf-8")})
    result = pytester.runpytest_subprocess(
        "-p", "asyncio", "-p", "no:anyio", "-o", "asyncio_mode=strict", *STRICT_WARNINGS, "-q"
    )
    assert result.ret == 0, "\n".join(result.outlines[-40:])
    result.assert_outcomes(passed=3)


SERVICE = EXAMPLES / "asgi_service"


def test_the_asgi_service_passes_its_own_tests(pytester: pytest.Pytester) -> None:
    """`pytest` in a copy of its folder, as its page says: its own settings, no others."""
    shutil.copytree(SERVICE, pytester.path, dirs_exist_ok=True)
    result = pytester.runpytest_subprocess(*STRICT_WARNINGS, "-q")
    assert result.ret == 0, "\n".join(result.outlines[-40:])
    result.assert_outcomes(passed=5)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # uvicorn's loop is its own
async def test_the_asgi_service_serves_under_uvicorn() -> None:
    """`uvicorn app:app`, as its page runs it: a menu, an order, then a clean stop."""
    with LocalServer(["menu"]) as momento:
        env = {
            **_without_momento_key(),
            "MOMENTO_API_KEY": momento.api_key,
            "MOMENTO_BASE_URL": str(momento.base_url),
        }
        command = [sys.executable, "-W", "error", "-m", "uvicorn", "app:app", "--port", "0"]
        with anyio.fail_after(60):
            async with await anyio.open_process(command, cwd=SERVICE, env=env) as uvicorn:
                assert uvicorn.stderr is not None
                logged = await _read_until(uvicorn.stderr, "(Press CTRL+C to quit)")
                url = re.search(r"Uvicorn running on (http://\S+)", logged)
                assert url, logged
                await momento.wait_for_subscribers("menu", "orders")  # the consumer
                async with httpx.AsyncClient(base_url=url[1]) as http:
                    menu = await http.get("/menu/monday")
                    order = await http.post("/orders", json={"dish": "soup"})
                uvicorn.send_signal(signal.SIGINT)  # Ctrl-C
                logged += await _read_until(uvicorn.stderr, None)
                assert await uvicorn.wait() == 0, logged
    assert menu.json() == {"day": "monday", "dishes": "soup, bread, cheese"}
    assert order.status_code == 202
    assert "Application startup complete." in logged
    assert "Application shutdown complete." in logged
    assert "Traceback" not in logged


async def _read_until(stream: anyio.abc.ByteReceiveStream, text: str | None) -> str:
    """What the stream gives until `text` appears, or to its end when `text` is None."""
    read = ""
    async for chunk in stream:
        read += chunk.decode()
        if text is not None and text in read:
            break
    return read


DOCS = EXAMPLES.parent / "docs"
SNIPPET = re.compile(r'^--8<-- "(?P<path>[^"]+)"$', re.MULTILINE)
PYTHON_BLOCK = re.compile(r"^```python\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)


def test_the_docs_show_every_example_and_no_python_that_is_not_one() -> None:
    pages = {page: page.read_text(encoding="utf-8") for page in DOCS.rglob("*.md")}
    included = {match["path"] for text in pages.values() for match in SNIPPET.finditer(text)}
    shown = {path for path in included if not path.startswith("docs/")}  # not generated tables
    examples = {
        path.relative_to(EXAMPLES.parent).as_posix()
        for path in EXAMPLES.rglob("*")
        # A service's pyproject.toml holds the settings its tests run under.
        if path.suffix in {".py", ".sh"} or path.name == "pyproject.toml"
    }
    assert examples <= shown, f"not in the docs: {sorted(examples - shown)}"
    assert shown <= examples, f"the docs include what is not an example: {sorted(shown - examples)}"
    for page, text in pages.items():
        for block in PYTHON_BLOCK.finditer(text):
            assert SNIPPET.fullmatch(block["body"].strip()), f"{page.name}: untested code"
