"""momento_http: an asyncio SDK for the Momento HTTP API, and a local Momento HTTP server."""

from momento_http._client import MomentoClient
from momento_http._config import (
    CLIENT_DEFAULT,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_POLL_TIMEOUT,
    DEFAULT_RETRY,
    DEFAULT_TIMEOUT,
    UseClientDefault,
)
from momento_http._credentials import REGION_ENDPOINTS
from momento_http._errors import (
    AuthenticationError,
    CacheNotFoundError,
    CertificateError,
    ClientClosedError,
    InvalidArgumentError,
    LimitExceededError,
    MalformedResponseError,
    MomentoConnectionError,
    MomentoError,
    MomentoTimeoutError,
    PermissionDeniedError,
    ServerError,
)
from momento_http._retry import RetryPolicy
from momento_http._topics import (
    Discontinuity,
    Heartbeat,
    Subscription,
    SubscriptionStats,
    TopicEvent,
    TopicItem,
)
from momento_http._transport import MomentoTransport
from momento_http._version import VERSION as _VERSION

__all__ = [
    "CLIENT_DEFAULT",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_POLL_TIMEOUT",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "REGION_ENDPOINTS",
    "AuthenticationError",
    "CacheNotFoundError",
    "CertificateError",
    "ClientClosedError",
    "Discontinuity",
    "Heartbeat",
    "InvalidArgumentError",
    "LimitExceededError",
    "MalformedResponseError",
    "MomentoClient",
    "MomentoConnectionError",
    "MomentoError",
    "MomentoTimeoutError",
    "MomentoTransport",
    "PermissionDeniedError",
    "RetryPolicy",
    "ServerError",
    "Subscription",
    "SubscriptionStats",
    "TopicEvent",
    "TopicItem",
    "UseClientDefault",
]

# What pip installed from pyproject.toml's `version`; "0+unknown" from an uninstalled tree.
__version__ = _VERSION
