"""Check a built docs site: every page's links, images and snippets resolve.

Run by `nox -s docs` after `mkdocs build --strict`: mkdocs checks the Markdown's links,
this checks what it wrote, so a page that renders broken (a missing image, a snippet that
did not expand, a link into a page that is not there, an anchor that is gone) fails.

Usage: python tests/site_check.py SITE_DIR
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    """The links, images and element ids of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        for name in ("href", "src"):
            value = found.get(name)
            if value and (tag in {"a", "img", "script"} or (tag == "link" and name == "href")):
                self.links.append(value)


def _target(page: Path, link: str, site: Path) -> tuple[Path, str] | None:
    """The file and anchor a local link points to; None for links leaving the site."""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:")):
        return None
    path = unquote(parts.path)
    target = page if not path else (page.parent / path).resolve()
    if target.is_dir() or path.endswith("/"):
        target = target / "index.html"
    if site not in target.parents and target != site:
        return None
    return target, parts.fragment


def check(site: Path) -> list[str]:
    """Every problem found, as lines of text."""
    site = site.resolve()
    pages = {page: _Page() for page in site.rglob("*.html")}
    for page, parsed in pages.items():
        parsed.feed(page.read_text(encoding="utf-8"))
    problems = []
    for page, parsed in pages.items():
        name = page.relative_to(site)
        if "--8<--" in page.read_text(encoding="utf-8"):
            problems.append(f"{name}: a snippet was not expanded")
        for link in parsed.links:
            found = _target(page, link, site)
            if found is None:
                continue
            target, anchor = found
            if not target.exists():
                problems.append(f"{name}: {link} leads nowhere")
            elif anchor and target in pages and anchor not in pages[target].ids:
                problems.append(f"{name}: {link}: no #{anchor} there")
    if not pages:
        problems.append(f"no pages in {site}")
    return problems


def main() -> int:
    """Check the site named on the command line; print the problems."""
    problems = check(Path(sys.argv[1]))
    for problem in problems:
        print(problem)
    print(f"site check: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
