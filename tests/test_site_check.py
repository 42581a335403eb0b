"""The docs site check finds what renders broken: it must fail on a broken page."""

from __future__ import annotations

from pathlib import Path

import pytest
from site_check import check

GOOD = {
    "index.html": '<a href="guide/">guide</a><a href="guide/#setup">setup</a>'
    '<img src="img/plot.png"><a href="https://example.com/">away</a>',
    "guide/index.html": '<h2 id="setup">Setup</h2><a href="../index.html">home</a>',
    "img/plot.png": "",
}


def build(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_a_sound_site_passes(tmp_path: Path) -> None:
    assert check(build(tmp_path, GOOD)) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"index.html": '<a href="missing/">x</a>'}, "missing/ leads nowhere"),
        ({"index.html": '<img src="img/gone.png">'}, "img/gone.png leads nowhere"),
        ({"index.html": '<a href="guide/#nowhere">x</a>'}, "no #nowhere there"),
        ({"guide/index.html": '<pre>--8<-- "examples/x.py"</pre>'}, "snippet was not expanded"),
    ],
)
def test_a_broken_page_fails(tmp_path: Path, change: dict[str, str], problem: str) -> None:
    problems = check(build(tmp_path, {**GOOD, **change}))
    assert any(problem in found for found in problems), problems
