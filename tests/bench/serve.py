"""Serve the bare ASGI app the way the local server serves its own: uvicorn, h11, TCP_NODELAY.

Run as `python tests/bench/serve.py`; it prints its base URL, then serves until killed.
"""

from __future__ import annotations

import socket

import uvicorn
from bare_app import app


def main() -> None:
    """Listen on a free loopback port and serve."""
    sock = socket.create_server(("127.0.0.1", 0), backlog=4096)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(
        app,
        http="h11",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,  # a relay poll nobody answers would hold it open
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
