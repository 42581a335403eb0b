"""Every Python block of the README runs as printed, against a local server.

A block is a whole script (imports, `main()`, `asyncio.run`), run in a process of its own
with `MOMENTO_API_KEY` and `MOMENTO_BASE_URL` pointing at a local server, as a reader
would run it with their own key. Blocks whose first line names a file (`# conftest.py`,
`# test_orders.py`) are the pytest example: written to a directory as those files and
run by pytest under pytest-asyncio's strict mode, where every test must pass.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import STRICT_WARNINGS

from momento_http.local import LocalServer

README = Path(__file__).parent.parent / "README.md"
COLUMNS = 80  # what a code block shows without scrolling sideways
# A fence may be indented, inside a list item; its closing fence is indented alike.
FENCE = re.compile(r"^(?P<indent> *)```python\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S)
FILE_NAME = re.compile(r"# (?P<name>(conftest|test_\w+)\.py)\n")


def python_blocks(markdown: str) -> dict[int, str]:
    """Each ```python block's code, by the line its fence opens on."""
    return {
        markdown.count("\n", 0, found.start()) + 1: textwrap.dedent(found["body"])
        for found in FENCE.finditer(markdown)
    }


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))
SCRIPTS = {line: code for line, code in BLOCKS.items() if not FILE_NAME.match(code)}
TEST_FILES = {match["name"]: code for code in BLOCKS.values() if (match := FILE_NAME.match(code))}


def _env(**momento: str) -> dict[str, str]:
    """This process's environment, with no MOMENTO_ variable but those given."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("MOMENTO_")}
    return {**kept, **momento}


def run_block(code: str, folder: Path, server: LocalServer) -> subprocess.CompletedProcess[str]:
    """Run one block as a script, its key and base URL those of `server`."""
    script = folder / "block.py"
    script.write_text(code, encoding="utf-8")
    env = _env(MOMENTO_API_KEY=server.api_key, MOMENTO_BASE_URL=server.base_url)
    return subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_pytest(files: dict[str, str], folder: Path) -> tuple[int, str]:
    """Run pytest under pytest-asyncio's strict mode on `files`; its status and output."""
    for name, code in files.items():
        (folder / name).write_text(code, encoding="utf-8")
    strict = ["-o", "asyncio_mode=strict", *STRICT_WARNINGS]
    strict += ["-o", "asyncio_default_fixture_loop_scope=function"]  # as the README says
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *strict, "-q"],
        cwd=folder,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def passed(output: str) -> int:
    found = re.search(r"(\d+) passed", output)
    return int(found[1]) if found else 0


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    """Stands in for Momento: the blocks use the cache `my-cache`."""
    with LocalServer(["my-cache"]) as server:
        yield server


def test_the_readme_has_scripts_and_a_pytest_example() -> None:
    assert len(SCRIPTS) >= 5, sorted(SCRIPTS)
    assert set(TEST_FILES) == {"conftest.py", "test_orders.py"}


@pytest.mark.parametrize("line", SCRIPTS)
def test_each_block_runs_as_printed(line: int, tmp_path: Path, server: LocalServer) -> None:
    result = run_block(SCRIPTS[line], tmp_path, server)
    assert result.returncode == 0, f"README.md line {line}:\n{result.stderr}"
    assert result.stderr == "", f"README.md line {line}:\n{result.stderr}"


def test_the_pytest_example_passes_under_strict_mode(tmp_path: Path) -> None:
    status, output = run_pytest(TEST_FILES, tmp_path)
    assert status == 0, output
    assert passed(output) > 0, output
    assert "warning" not in output, output


@pytest.mark.parametrize("line", BLOCKS)
def test_each_block_fits_the_page(line: int) -> None:
    lines = BLOCKS[line].splitlines()
    long = [n for n, text in enumerate(lines, line + 1) if len(text) > COLUMNS]
    assert not long, f"README.md lines {long} are longer than {COLUMNS} characters"


# What the README showed before its blocks were made whole: each must fail here.
FRAGMENT = """\
from momento_http import MomentoClient

async with MomentoClient(api_key, default_ttl=300) as client:
    await client.set("cache", "key", b"value", ttl=60)
"""
UNMARKED_TEST = """\
async def test_order_is_cached(momento_client):
    await momento_client.set("orders", "42", b"paid")
"""


def test_a_fragment_fails(tmp_path: Path, server: LocalServer) -> None:
    result = run_block(FRAGMENT, tmp_path, server)
    assert result.returncode != 0
    assert "SyntaxError" in result.stderr


def test_a_block_that_raises_fails(tmp_path: Path, server: LocalServer) -> None:
    result = run_block(SCRIPTS[min(SCRIPTS)].replace("my-cache", "no-cache"), tmp_path, server)
    assert result.returncode != 0
    assert "CacheNotFoundError" in result.stderr


def test_an_unmarked_test_passes_nothing_under_strict_mode(tmp_path: Path) -> None:
    files = {**TEST_FILES, "test_orders.py": UNMARKED_TEST}
    status, output = run_pytest(files, tmp_path)
    assert status != 0 or passed(output) == 0, output
