"""momento_http: an asyncio SDK for the Momento HTTP API, and a local Momento HTTP server."""

from momento_http._client import DEFAULT_TIMEOUT, MomentoClient
from momento_http._credentials import REGION_ENDPOINTS
from momento_http._errors import (
    AuthenticationError,
    CacheNotFoundError,
    ClientClosedError,
    InvalidArgumentError,
    LimitExceededError,
    MomentoConnectionError,
    MomentoError,
    MomentoTimeoutError,
    PermissionDeniedError,
    ServerError,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "REGION_ENDPOINTS",
    "AuthenticationError",
    "CacheNotFoundError",
    "ClientClosedError",
    "InvalidArgumentError",
    "LimitExceededError",
    "MomentoClient",
    "MomentoConnectionError",
    "MomentoError",
    "MomentoTimeoutError",
    "PermissionDeniedError",
    "ServerError",
]
