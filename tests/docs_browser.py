"""Open every page of the built docs in headless Chromium; fail on anything that did not load.

The site is served on loopback; Chromium (Debian's package, /usr/bin/chromium) loads each
page with its styles, scripts, fonts and images, and takes a screenshot of it. Every
request the browser made is recorded: one that found nothing (404) is a broken page.

Usage: python tests/docs_browser.py SITE_DIR SHOTS_DIR
"""

from __future__ import annotations

import functools
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


class _Recorder(SimpleHTTPRequestHandler):
    """Serves the site and records every request's path and status."""

    seen: list[tuple[str, int]]

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.seen.append((self.path, int(code) if str(code).isdigit() else 0))

    def log_message(self, format: str, *args: object) -> None:
        del format, args  # quiet: the recorder keeps what matters


def main() -> int:
    """Load every page; print what failed; exit 1 if anything did."""
    site, shots = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("no chromium on PATH: install Debian's chromium package")
        return 2
    shots.mkdir(parents=True, exist_ok=True)
    seen: list[tuple[str, int]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
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
    server.shutdown()
    missing = sorted({path for path, status in seen if status == HTTPStatus.NOT_FOUND})
    problems += [f"not found: {path}" for path in missing if not path.endswith("favicon.ico")]
    for problem in problems:
        print(problem)
    print(f"{len(pages)} pages opened, {len(seen)} requests, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
