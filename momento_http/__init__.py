"""momento_http: an asyncio SDK for the Momento HTTP API, and a local Momento HTTP server."""

from momento_http._client import (
    CLIENT_DEFAULT,
    DEFAULT_POLL_TIMEOUT,
    DEFAULT_RETRY,
    DEFAULT_TIMEOUT,
    MomentoClient,
    UseClientDefault,
)
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
from momento_http._models import Discontinuity, Heartbeat, TopicEvent, TopicItem
from momento_http._retry import RetryPolicy
from momento_http._subscription import Subscription

__all__ = [
    "CLIENT_DEFAULT",
    "DEFAULT_POLL_TIMEOUT",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "REGION_ENDPOINTS",
    "AuthenticationError",
    "CacheNotFoundError",
    "ClientClosedError",
    "Discontinuity",
    "Heartbeat",
    "InvalidArgumentError",
    "LimitExceededError",
    "MomentoClient",
    "MomentoConnectionError",
    "MomentoError",
    "MomentoTimeoutError",
    "PermissionDeniedError",
    "RetryPolicy",
    "ServerError",
    "Subscription",
    "TopicEvent",
    "TopicItem",
    "UseClientDefault",
]
