"""Sessions: `nox` runs lint, typecheck and the tests on every supported Python."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
PYPROJECT = nox.project.load_toml("pyproject.toml")

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "typecheck", "docs", "tests"]
nox.options.error_on_missing_interpreters = True


def _expose_pyenv_pythons() -> None:
    """Put pyenv's interpreters on PATH, so `python3.10` … `python3.13` are found.

    pyenv hides every version but the selected one behind its shims; uv and nox look for
    `python3.X` on PATH and would otherwise try to download one.
    """
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if not versions.is_dir():
        return
    found: list[str] = []
    for wanted in PYTHONS:
        pattern = re.compile(rf"{re.escape(wanted)}\.(\d+)")
        patches = [(int(m[1]), d) for d in versions.iterdir() if (m := pattern.fullmatch(d.name))]
        if patches:
            found.append(str(max(patches)[1] / "bin"))
    os.environ["PATH"] = os.pathsep.join([*found, os.environ.get("PATH", "")])


_expose_pyenv_pythons()
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite against the local server, on asyncio and trio.

    pytest-xdist spreads it over two workers per core: the suite waits more than it computes
    (held polls, time-outs, subprocesses). `-- -n 0` runs it in one process.
    """
    session.install(".[local]", *nox.project.dependency_groups(PYPROJECT, "test"))
    schemathesis = _schemathesis(session)
    session.run(
        "pytest",
        f"--numprocesses={2 * (os.cpu_count() or 1)}",
        *session.posargs,
        env={
            "SCHEMATHESIS": str(schemathesis),
            # The suite starts hundreds of Python processes: without a bytecode cache each
            # compiles every module it imports, and pytest rewrites the asserts of whole
            # plugin packages (hypothesis, anyio) again. The cache lives in the session's
            # venv, so the source tree stays as clean as PYTHONDONTWRITEBYTECODE keeps it.
            "PYTHONDONTWRITEBYTECODE": None,
            "PYTHONPYCACHEPREFIX": str(Path(session.virtualenv.location) / "pycache"),
        },
    )


def _schemathesis(session: nox.Session) -> Path:
    """Install schemathesis in a venv of its own; give its command.

    Beside pytest, its pytest plugin and rich (which makes `import httpx` load httpx's own
    command line) would cost every pytest worker and every subprocess the suite starts.
    """
    # Not under session.create_tmp(): that sets TMPDIR inside this project, where the pytest
    # runs the suite starts in tmp_path would read this project's pytest settings.
    venv = Path(session.virtualenv.location) / "schemathesis"
    python = venv / "bin" / "python"
    session.run_install("uv", "venv", "--quiet", "--allow-existing", str(venv))
    session.run_install(
        "uv",
        "pip",
        "install",
        "--quiet",
        "--python",
        str(python),
        *nox.project.dependency_groups(PYPROJECT, "schemathesis"),
    )
    return venv / "bin" / "schemathesis"


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """Check types: mypy strict everywhere, and pyright's completeness of the public API."""
    session.install(".[local]", *nox.project.dependency_groups(PYPROJECT, "typecheck"))
    session.run("mypy")
    # Scores the installed package as a user's checker sees it. --ignoreexternal: httpx's own
    # unannotated attributes (httpx.Response.headers …) are not ours to complete.
    session.run("pyright", "--verifytypes", "momento_http", "--ignoreexternal")


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Build the docs site; --strict turns any warning or broken link into a failure."""
    session.install(".[local]", *nox.project.dependency_groups(PYPROJECT, "docs"))
    site = Path(session.create_tmp()) / "site"
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", str(site), env={"NO_MKDOCS_2_WARNING": "1"}
    )
    session.run("python", "tests/site_check.py", str(site))  # what the pages render to
    session.log(f"built {site}")


@nox.session(python="3.11")
def docs_browser(session: nox.Session) -> None:
    """Build the docs and open every page in headless Chromium (Debian's `chromium`).

    A request that finds nothing, or a code block that scrolls sideways, fails it. Not among
    the default sessions: it needs Chromium on the machine. Screenshots go to
    `.nox/docs_browser/tmp/shots/`.
    """
    session.install(".[local]", *nox.project.dependency_groups(PYPROJECT, "docs"))
    tmp = Path(session.create_tmp())
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        str(tmp / "site"),
        env={"NO_MKDOCS_2_WARNING": "1"},
    )
    session.run("python", "tests/docs_browser.py", str(tmp / "site"), str(tmp / "shots"))


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Benchmarks, side by side: a table, and docs/benchmarks/ (JSON, Markdown, PNG).

    `nox -s bench -- --quick` is a smoke run with tiny sizes.
    """
    session.install(".[local]", *nox.project.dependency_groups(PYPROJECT, "bench"))
    session.run("python", "tests/bench/run.py", *session.posargs)


@nox.session(python="3.11")
def quickstart(session: nox.Session) -> None:
    """Run the quickstart: on Momento with MOMENTO_API_KEY, else on a local server."""
    session.install(".[local]")
    session.run("python", "examples/quickstart.py")
