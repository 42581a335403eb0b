"""The local Momento HTTP server: the Momento HTTP API served from memory, for offline use.

Run it from the command line with `python -m momento_http.local`, or in process with
`LocalServer`.
"""

from momento_http.local._auth import (
    ALL_PERMISSIONS,
    CachePermission,
    CacheRole,
    Permission,
    TopicPermission,
    TopicRole,
)
from momento_http.local._faults import Fault
from momento_http.local._server import LocalServer
from momento_http.local._settings import DEFAULT_CACHE, Settings

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_CACHE",
    "CachePermission",
    "CacheRole",
    "Fault",
    "LocalServer",
    "Permission",
    "Settings",
    "TopicPermission",
    "TopicRole",
]
