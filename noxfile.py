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

    pytest-xdist spreads it over a worker per core: the suite waits more than it computes
    (held polls, time-outs, subprocesses). Two per core was faster, but its tests with
    0.3 s deadlines then met loopback connects slower than that. `-- -n 0` runs it in one
    process.
    """
    session.install(".[local]", *nox.project.dependency_groups(PYPROJECT, "test"))
    schemathesis = _schemathesis(session)
    session.run(
        "pytest",
        f"--numprocesses={os.cpu_count() or 1}",
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


@nox.session(python="3.11")
def build(session: nox.Session) -> None:
    """Build the sdist and the wheel into dist/, check them, and install the wheel afresh.

    twine checks both files' metadata (the README must render); the wheel must carry
    `py.typed` and the version and extras pyproject.toml gives; then it is installed with its
    `local` extra into an empty virtual environment, imported there and its command run. Not
    among the default sessions.
    """
    import email.parser  # noqa: PLC0415 - only this session reads a wheel's METADATA
    import shutil  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    session.install(*nox.project.dependency_groups(PYPROJECT, "build"))
    dist = Path("dist")
    for old in dist.glob("momento_http-*"):  # our own earlier builds only
        old.unlink()
    # The wheel is built from the sdist, so a file the sdist leaves out fails here.
    session.run("python", "-m", "build", "--installer", "uv", "--outdir", str(dist), ".")
    version = PYPROJECT["project"]["version"]
    wheel = dist / f"momento_http-{version}-py3-none-any.whl"
    session.run(
        "twine", "check", "--strict", str(wheel), str(dist / f"momento_http-{version}.tar.gz")
    )

    with zipfile.ZipFile(wheel) as files:
        names = set(files.namelist())
        metadata = email.parser.Parser().parsestr(
            files.read(f"momento_http-{version}.dist-info/METADATA").decode()
        )
    expected = {
        "Name": "momento-http",
        "Version": version,
        "Requires-Python": PYPROJECT["project"]["requires-python"],
        "License-Expression": PYPROJECT["project"]["license"],
    }
    wrong = {
        field: metadata[field] for field, value in expected.items() if metadata[field] != value
    }
    if wrong or "local" not in metadata.get_all("Provides-Extra", []):
        session.error(f"wheel METADATA: wrong {wrong}, extras {metadata.get_all('Provides-Extra')}")
    if "momento_http/py.typed" not in names:
        session.error("the wheel has no momento_http/py.typed")

    clean = Path(session.create_tmp()) / "clean"
    shutil.rmtree(clean, ignore_errors=True)
    session.run("uv", "venv", "--quiet", "--python", str(Path(session.bin) / "python"), str(clean))
    python = clean / ("Scripts" if os.name == "nt" else "bin") / "python"
    session.run("uv", "pip", "install", "--quiet", "--python", str(python), f"{wheel}[local]")
    # -I: no current directory on sys.path, so the clone's own momento_http cannot be imported.
    check = (
        "import momento_http, momento_http.local; "
        f"assert momento_http.__version__ == {version!r}, momento_http.__version__; "
        f"assert momento_http.__file__.startswith({str(clean.resolve())!r}), momento_http.__file__"
    )
    session.run(str(python), "-I", "-c", check, external=True)
    printed = session.run(
        str(python), "-I", "-m", "momento_http", "--version", external=True, silent=True
    )
    if printed != f"momento-http {version}\n":
        session.error(f"momento-http --version printed {printed!r}")
    session.log(f"built {wheel} and its sdist; the wheel installs and runs in a clean environment")
