"""The version has one source (pyproject.toml), and the built wheel is a typed package.

`nox -s build` checks more (twine, a clean install from the wheel); these run with the suite.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import httpx
from conftest import CACHE, ROOT, source_tree_env, unique

import momento_http
from momento_http import MomentoClient, MomentoTransport
from momento_http.local import LocalServer

# tomllib is 3.11+; the one line is enough to read.
DECLARED = re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.M)


def test_pyproject_declares_the_installed_version() -> None:
    assert DECLARED is not None
    assert version("momento-http") == DECLARED[1]


def test_dunder_version_is_the_installed_metadata_version() -> None:
    assert momento_http.__version__ == version("momento-http")


async def test_requests_name_the_version_in_their_user_agent(server: LocalServer) -> None:
    sent: list[str] = []

    async def note(request: httpx.Request) -> None:
        sent.append(request.headers["user-agent"])

    http = httpx.AsyncClient(transport=MomentoTransport(), event_hooks={"request": [note]})
    async with http, MomentoClient(server.api_key, base_url=server.base_url, http_client=http) as c:
        assert await c.get(CACHE, unique("absent")) is None
    assert sent == [f"momento-http-python/{version('momento-http')}"]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_version_flag_through_the_entry_point() -> None:
    script = shutil.which("momento-http", path=str(Path(sys.executable).parent))
    assert script is not None, "the momento-http entry point is not installed"
    result = _run(script, "--version")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"momento-http {version('momento-http')}\n"


def test_an_uninstalled_tree_imports_with_a_placeholder_version(tmp_path: Path) -> None:
    """`PYTHONPATH=. python -c 'import momento_http'` from a clone, nothing installed."""
    show = (
        "import importlib.metadata as m, momento_http, momento_http._send._requests as r\n"
        "try:\n    m.version('momento-http')\nexcept m.PackageNotFoundError:\n"
        "    print('not installed')\n"
        "print(momento_http.__file__, momento_http.__version__, r.USER_AGENT)"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", show],
        cwd=tmp_path,
        env=source_tree_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "not installed",
        f"{ROOT / 'momento_http' / '__init__.py'} 0+unknown momento-http-python/0+unknown",
    ]


def test_version_flag_through_python_dash_m() -> None:
    result = _run(sys.executable, "-m", "momento_http", "--version")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"momento-http {version('momento-http')}\n"


def test_the_wheel_carries_py_typed_and_the_version(tmp_path: Path) -> None:
    # --no-isolation: hatchling is in the test environment, so no download is needed.
    result = _run(
        sys.executable,
        "-m",
        "build",
        "--wheel",
        "--no-isolation",
        "--outdir",
        str(tmp_path),
        str(ROOT),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as files:
        names = set(files.namelist())
        metadata = files.read(f"momento_http-{version('momento-http')}.dist-info/METADATA")
    assert "momento_http/py.typed" in names
    assert f"\nVersion: {version('momento-http')}\n".encode() in metadata
    assert not any(name.startswith("tests/") for name in names)
