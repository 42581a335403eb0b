"""Every example the docs show runs, against the local server, and prints what the docs say."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from conftest import STRICT_WARNINGS

from momento_http import MomentoClient
from momento_http.local import LocalServer

EXAMPLES = Path(__file__).parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))  # the examples import their shared `connect` module

EXAMPLES_CACHE = "default-cache"  # the one the examples use when run as scripts
Main = Callable[[MomentoClient, str], Awaitable[None]]

# What each example prints, in order (the lines it must contain, not all of them).
CLIENT_EXAMPLES = {
    "quickstart": [
        "get     greeting -> b'hello, momento'",
        "get     greeting -> None (a miss)",
        "receive news #",
        "-> 'goodbye'",
        "resume  from sequence_number=",
    ],
    "cache_operations": ["b'hello'", "b'\\xff\\xfe'", "greeting: miss", "b'soon gone'"],
    "resume_subscription": [
        "#1: 'order 1'",
        "#2: 'order 2'",
        "stopped; saved position: sequence_number=3",
        "#3: 'order 3'",
        "#4: 'order 4'",
    ],
    "cancellation": ["gave up after 0.5 s; closed: True"],
    "errors_and_retries": [
        "bad input: ttl must be positive, not -1 seconds",
        "404: Cache Not Found (GET)",
        "set k with a patient retry policy",
    ],
}
SCRIPT_EXAMPLES = {
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
    "tracing": ["PUT http://127.0.0.1:", "ttl_seconds=60 204", "GET http://", "key=greeting 200"],
    "token_provider": ["0 b'order 0'", "4 b'order 4'", "tokens fetched: "],
    "local_server": [
        "None",
        "read-only key: 403 the token does not grant cache_write on menu",
        "None",
        "without retries: 503 maintenance",
        "faults served: {'status 503': 2}",
    ],
}


def assert_in_order(output: str, expected: list[str]) -> None:
    position = 0
    for text in expected:
        found = output.find(text, position)
        assert found >= 0, f"{text!r} not found after position {position} in:\n{output}"
        position = found + len(text)


@pytest.fixture(scope="module")
def examples_server() -> Iterator[LocalServer]:
    """A server of their own: the examples write keys other tests use too."""
    with LocalServer([EXAMPLES_CACHE]) as server:
        yield server


@pytest.mark.parametrize("name", CLIENT_EXAMPLES)
async def test_each_client_example_on_a_local_server(
    name: str, examples_server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    main: Main = importlib.import_module(name).main
    server = examples_server
    async with MomentoClient(server.api_key, base_url=server.base_url, default_ttl=60) as client:
        await main(client, EXAMPLES_CACHE)
    assert_in_order(capsys.readouterr().out, CLIENT_EXAMPLES[name])


def run_script(*command: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command,
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})} if env else _without_momento_key(),
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def _without_momento_key() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MOMENTO_")}


@pytest.mark.parametrize("name", [*CLIENT_EXAMPLES, *SCRIPT_EXAMPLES])
def test_each_example_runs_as_a_script_on_its_own_local_server(name: str) -> None:
    output = run_script(sys.executable, "-W", "error", f"{name}.py")
    expected = {**CLIENT_EXAMPLES, **SCRIPT_EXAMPLES}[name]
    assert_in_order(output, expected)


def test_the_command_line_example(tmp_path: Path) -> None:
    bin_dir = str(Path(sys.executable).parent)
    with LocalServer(["my-cache"]) as server:
        output = run_script(
            "sh",
            "cli.sh",
            env={
                "MOMENTO_API_KEY": server.api_key,
                "BASE_URL": str(server.base_url),
                "PATH": os.pathsep.join([bin_dir, os.environ["PATH"]]),
            },
        )
    lines = output.splitlines()
    assert lines[0] == "hello"
    assert lines[1] == "a miss: exit status 1"
    assert '"value": "first", "sequence_number": 1' in lines[2]
    assert '"value": "second", "sequence_number": 2' in lines[3]
    assert server.api_key not in output


def test_the_testing_example_passes_under_pytest_asyncio(pytester: pytest.Pytester) -> None:
    for path in (EXAMPLES / "testing").glob("*.py"):
        pytester.makepyfile(**{path.stem: path.read_text(encoding="utf-8")})
    result = pytester.runpytest_subprocess(
        "-p", "asyncio", "-p", "no:anyio", "-o", "asyncio_mode=strict", *STRICT_WARNINGS, "-q"
    )
    assert result.ret == 0, "\n".join(result.outlines[-40:])
    result.assert_outcomes(passed=3)


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
        if path.suffix in {".py", ".sh"}
    }
    assert examples <= shown, f"not in the docs: {sorted(examples - shown)}"
    assert shown <= examples, f"the docs include what is not an example: {sorted(shown - examples)}"
    for page, text in pages.items():
        for block in PYTHON_BLOCK.finditer(text):
            assert SNIPPET.fullmatch(block["body"].strip()), f"{page.name}: untested code"
