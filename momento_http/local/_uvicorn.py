"""The one place that knows uvicorn: the listening socket, and the server that serves it."""

from __future__ import annotations

import socket

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from momento_http.local._app import LocalMomentoApp
from momento_http.local._connections import ConnectionGuard

__all__ = ["listen", "uvicorn_server"]

_LISTEN_BACKLOG = 4096  # a thousand subscribers may connect at once


def listen(host: str, port: int) -> tuple[socket.socket, str]:
    """A socket listening on `host` and `port` (0: any free one), and its base URL."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=_LISTEN_BACKLOG)
    # uvicorn writes a response's head and body separately; without TCP_NODELAY (which
    # accepted sockets inherit) Nagle holds the body for the client's delayed ACK, ~40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if family == socket.AF_INET6 else bound_host
    return sock, f"http://{shown_host}:{bound_port}"


class _Server(uvicorn.Server):
    """uvicorn's server, telling the app first when it shuts down.

    uvicorn waits for requests under way to end (for at most its graceful-shutdown time,
    then cancels them with a logged error); the app answers held polls and delayed
    requests at once, so that none is left to wait for.
    """

    def __init__(self, config: uvicorn.Config, app: LocalMomentoApp) -> None:
        super().__init__(config)
        self._app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._app.close()
        await super().shutdown(sockets)


def uvicorn_server(app: LocalMomentoApp, connections: ConnectionGuard) -> uvicorn.Server:
    """A uvicorn server for the app, every connection under the guard."""
    config = uvicorn.Config(
        app,
        # h11 and asyncio's own loop, the same wherever httptools or uvloop happen to be
        # installed, under the guard.
        http=connections.protocol(H11Protocol),
        loop="asyncio",
        ws="none",  # a WebSocket upgrade would take the connection from the guard
        proxy_headers=False,  # the guard knows a connection by its real peer address
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    return _Server(config, app)
