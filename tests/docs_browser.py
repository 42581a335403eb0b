"""Open every page of the built docs in headless Chromium; fail on anything broken or too wide.

The site is served on loopback; Chromium (Debian's package, /usr/bin/chromium) loads each
page with its styles, scripts, fonts and images, and takes a screenshot of it. Every
request the browser made is recorded: one that found nothing (404) is a broken page. Each
page is served with a script added that, once the page has loaded, reports the code blocks
that scroll sideways in a 1280-pixel window: a line too long for the page is a problem too.

Usage: python tests/docs_browser.py SITE_DIR SHOTS_DIR
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1280,1600",
]
REPORT = "/__layout__"
# Once the page has loaded, name each code block wider than its box by its longest line.
# The report is sent synchronously, so it reaches the server before the screenshot is taken.
LAYOUT_SCRIPT = f"""<script>
addEventListener("load", () => {{
  const wide = [...document.querySelectorAll("pre > code")]
    .filter((code) => code.scrollWidth > code.clientWidth)
    .map((code) => code.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a)));
  const report = new XMLHttpRequest();
  report.open("POST", "{REPORT}" + location.pathname, false);
  report.send(JSON.stringify(wide));
}});
</script>""".encode()


class _Recorder(SimpleHTTPRequestHandler):
    """Serves the site, adds the layout script to its pages, records what the browser did."""

    seen: list[tuple[str, int]]
    layouts: dict[str, list[str]]

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        page = path / "index.html" if path.is_dir() else path
        if not (self.path.endswith("/") or self.path.endswith(".html")) or not page.is_file():
            super().do_GET()
            return
        html = page.read_bytes().replace(b"</body>", LAYOUT_SCRIPT + b"</body>")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(html)))
        self.end_headers()
        self.wfile.write(html)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith(REPORT):
            self.layouts[self.path.removeprefix(REPORT)] = json.loads(body)
        self.send_response(HTTPStatus.NO_CONTENT)
        self.end_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # http.server passes an HTTPStatus, whose str() is its name before Python 3.11.
        status = int(code) if isinstance(code, int) or str(code).isdigit() else 0
        self.seen.append((self.path, status))

    def log_message(self, format: str, *args: object) -> None:
        del format, args  # quiet: the recorder keeps what matters


def check(site: Path, shots: Path, browser: str) -> tuple[list[str], int, int]:
    """Open every page of `site`: the problems found, the pages opened, the requests seen."""
    site, shots = site.resolve(), shots.resolve()
    shots.mkdir(parents=True, exist_ok=True)
    seen: list[tuple[str, int]] = []
    layouts: dict[str, list[str]] = {}
    handler = type("Handler", (_Recorder,), {"seen": seen, "layouts": layouts})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    pages = sorted(page.relative_to(site) for page in site.rglob("index.html"))
    problems = []
    for page in pages:
        folder = "" if page.parent == Path() else page.parent.as_posix() + "/"
        url = f"{base}/{folder}"
        name = folder.rstrip("/").replace("/", "_") or "home"
        profile = shots / f".profile-{name}"
        result = subprocess.run(
            [
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={shots / name}.png",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        shutil.rmtree(profile, ignore_errors=True)
        if result.returncode != 0 or not (shots / f"{name}.png").exists():
            problems.append(f"{url}: chromium failed: {result.stderr[-300:]}")
        if (layout := layouts.get(f"/{folder}")) is None:
            problems.append(f"/{folder}: the page's scripts did not run (no layout report)")
        problems += [f"/{folder}: a code block scrolls sideways: {line!r}" for line in layout or []]
    server.shutdown()
    server.server_close()
    missing = sorted({path for path, status in seen if status == HTTPStatus.NOT_FOUND})
    problems += [f"not found: {path}" for path in missing if not path.endswith("favicon.ico")]
    return problems, len(pages), len(seen)


def main() -> int:
    """Load every page; print what failed; exit 1 if anything did."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("no chromium on PATH: install Debian's chromium package")
        return 2
    problems, pages, requests = check(Path(sys.argv[1]), Path(sys.argv[2]), browser)
    for problem in problems:
        print(problem)
    print(f"{pages} pages opened, {requests} requests, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
