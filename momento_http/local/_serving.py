"""Running uvicorn on a loopback socket: in a thread of its own, or in the calling one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import uvicorn

from momento_http.local._app import LocalMomentoApp
from momento_http.local._connections import ConnectionGuard
from momento_http.local._uvicorn import listen, uvicorn_server

__all__ = ["Serving"]

_START_TIMEOUT = 10.0


class Serving:
    """Serves the app on `host` and `port`, once at a time.

    Args:
        app: The app to serve.
        connections: Watches the connections it serves.
        host: The address to listen on.
        port: The port to listen on; 0 picks a free one.
    """

    def __init__(
        self, app: LocalMomentoApp, connections: ConnectionGuard, host: str, port: int
    ) -> None:
        self._app = app
        self._connections = connections
        self._host = host
        self._port = port
        self._background: tuple[uvicorn.Server, threading.Thread] | None = None
        self.base_url: str | None = None
        """The URL it listens on, such as `http://127.0.0.1:53117`; None when not listening."""

    @property
    def in_background(self) -> bool:
        """Whether it serves from a background thread (`start` was called, not `stop`)."""
        return self._background is not None

    def serve_forever(self, on_listening: Callable[[], None] | None = None) -> None:
        """Serve in this thread until interrupted (Ctrl-C).

        Args:
            on_listening: Called once the socket listens, when `base_url` is known.
        """
        sock, self.base_url = listen(self._host, self._port)
        try:
            if on_listening is not None:
                on_listening()
            uvicorn_server(self._app, self._connections).run(sockets=[sock])
        finally:
            sock.close()
            self.base_url = None

    def start(self) -> None:
        """Serve from a background thread; returns once connections are accepted.

        Raises:
            RuntimeError: It is serving already, or failed to start.
        """
        if self._background is not None:
            raise RuntimeError("the local server is already started")
        sock, self.base_url = listen(self._host, self._port)
        server = uvicorn_server(self._app, self._connections)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="momento-local", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                self.base_url = None
                raise RuntimeError("the local server failed to start")
            time.sleep(0.005)
        self._background = server, thread

    def stop(self) -> None:
        """Stop serving from the background thread, once what is under way is answered."""
        background, self._background = self._background, None
        if background is None:
            return
        server, thread = background
        server.should_exit = True  # it tells the app first: nothing held is waited for
        thread.join()
        self.base_url = None
