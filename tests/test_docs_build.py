"""The docs site builds, and the checks run on it fail on a broken page.

The build needs the `docs` dependency group and the browser check Debian's `chromium`:
each test is skipped where its tool is missing (`nox -s docs` and `nox -s docs_browser`
run them on the real site regardless).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docs_browser import check as browse
from site_check import check

ROOT = Path(__file__).parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="needs mkdocs")
def test_the_docs_build_strict_into_sound_pages(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert check(site) == []
    assert (site / "topics" / "index.html").is_file()


PAGE = "<!doctype html><html><body>{}</body></html>"
CODE = '<pre><code style="display: block; overflow: auto; width: 300px">{}</code></pre>'


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_the_browser_check_fails_on_a_broken_or_too_wide_page(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    pages = {
        "index.html": PAGE.format(CODE.format("short\nlines")),
        "broken/index.html": PAGE.format('<img src="gone.png">'),
        "wide/index.html": PAGE.format(CODE.format("short\n" + "x" * 200)),
    }
    for name, html in pages.items():
        (tmp_path / "site" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "site" / name).write_text(html, encoding="utf-8")
    problems, opened, _ = browse(tmp_path / "site", tmp_path / "shots", CHROMIUM)
    assert opened == 3
    assert sorted(problems) == [
        f"/wide/: a code block scrolls sideways: {'x' * 200!r}",
        "not found: /broken/gone.png",
    ]
    assert (tmp_path / "shots" / "home.png").is_file()
