"""Tokens the local server mints and checks: scopes, expiry, and fixed tokens.

A minted token is a JWT signed with HMAC-SHA256 under a secret the server draws at start,
so minting needs no shared state and a token from another server run is refused. Its
claims: `t: "g"` (a v2 key: the endpoint comes from elsewhere), `id` (the token id, which
becomes a published message's `publisher_id`), `exp` (epoch seconds, optional), and `p`,
the permissions.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ALL_PERMISSIONS",
    "Action",
    "CachePermission",
    "CacheRole",
    "Identity",
    "TokenAuthority",
    "TopicPermission",
    "TopicRole",
]


class Action(enum.Enum):
    """What a request does, for permission checks."""

    CACHE_READ = "cache_read"
    CACHE_WRITE = "cache_write"
    TOPIC_PUBLISH = "topic_publish"
    TOPIC_SUBSCRIBE = "topic_subscribe"


class CacheRole(enum.Enum):
    """Momento's cache roles."""

    READ_WRITE = "read_write"
    READ_ONLY = "read_only"
    WRITE_ONLY = "write_only"


class TopicRole(enum.Enum):
    """Momento's topic roles."""

    PUBLISH_SUBSCRIBE = "publish_subscribe"
    SUBSCRIBE_ONLY = "subscribe_only"
    PUBLISH_ONLY = "publish_only"


_CACHE_ACTIONS = {
    CacheRole.READ_WRITE: frozenset({Action.CACHE_READ, Action.CACHE_WRITE}),
    CacheRole.READ_ONLY: frozenset({Action.CACHE_READ}),
    CacheRole.WRITE_ONLY: frozenset({Action.CACHE_WRITE}),
}
_TOPIC_ACTIONS = {
    TopicRole.PUBLISH_SUBSCRIBE: frozenset({Action.TOPIC_PUBLISH, Action.TOPIC_SUBSCRIBE}),
    TopicRole.SUBSCRIBE_ONLY: frozenset({Action.TOPIC_SUBSCRIBE}),
    TopicRole.PUBLISH_ONLY: frozenset({Action.TOPIC_PUBLISH}),
}


@dataclass(frozen=True, slots=True)
class CachePermission:
    """Access to one cache, or to every cache when `cache` is None."""

    role: CacheRole
    cache: str | None = None

    def allows(self, action: Action, cache: str, topic: str | None) -> bool:
        """Whether this permission lets `action` be done on `cache`."""
        del topic
        return action in _CACHE_ACTIONS[self.role] and self.cache in (None, cache)


@dataclass(frozen=True, slots=True)
class TopicPermission:
    """Access to topics: in one cache or all (`cache`), one topic or all (`topic`)."""

    role: TopicRole
    cache: str | None = None
    topic: str | None = None

    def allows(self, action: Action, cache: str, topic: str | None) -> bool:
        """Whether this permission lets `action` be done on `topic` in `cache`."""
        return (
            action in _TOPIC_ACTIONS[self.role]
            and self.cache in (None, cache)
            and self.topic in (None, topic)
        )


Permission = CachePermission | TopicPermission

ALL_PERMISSIONS: tuple[Permission, ...] = (
    CachePermission(CacheRole.READ_WRITE),
    TopicPermission(TopicRole.PUBLISH_SUBSCRIBE),
)
"""Every permission on every cache and topic."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a valid token speaks for."""

    token_id: str | None
    permissions: tuple[Permission, ...]

    def allows(self, action: Action, cache: str, topic: str | None = None) -> bool:
        """Whether any permission lets `action` be done on `cache` (and `topic`)."""
        return any(p.allows(action, cache, topic) for p in self.permissions)


_Checked = tuple[Identity, "float | None"]
"""A checked token: whom it speaks for, and when it expires (None: never)."""

_CHECKED_TOKENS = 4096


class TokenError(Exception):
    """A token is malformed, forged, or expired; the message says which, never the token."""


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise TokenError("the token is malformed") from error


def _compact_json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


_HEADER = _b64url(_compact_json({"alg": "HS256", "typ": "JWT"}))


def _encode_permission(permission: Permission) -> list[Any]:
    if isinstance(permission, CachePermission):
        return ["cache", permission.role.value, permission.cache]
    return ["topic", permission.role.value, permission.cache, permission.topic]


def _decode_permission(raw: Any) -> Permission:
    match raw:
        case ["cache", str(role), str() | None as cache]:
            return CachePermission(CacheRole(role), cache)
        case ["topic", str(role), str() | None as cache, str() | None as topic]:
            return TopicPermission(TopicRole(role), cache, topic)
    raise TokenError("the token's permissions are malformed")


class TokenAuthority:
    """Mints tokens and checks them against a clock.

    Args:
        fixed_tokens: Tokens accepted as they are, with every permission (`--token`).
    """

    def __init__(self, fixed_tokens: Iterable[str] = ()) -> None:
        self._secret = secrets.token_bytes(32)
        self._fixed: dict[str, _Checked] = {
            token: (Identity(None, ALL_PERMISSIONS), None) for token in fixed_tokens
        }
        # Tokens whose signature and claims passed, so each request only checks expiry.
        self._checked = dict(self._fixed)

    def mint(
        self,
        permissions: Iterable[Permission],
        *,
        expires_at: int | None,
        token_id: str | None,
    ) -> str:
        """Create a signed token.

        Args:
            permissions: What the token may do.
            expires_at: Epoch seconds after which the token is refused, or None for never.
            token_id: An id that published messages carry as `publisher_id`.

        Returns:
            The token.
        """
        claims: dict[str, Any] = {"t": "g", "p": [_encode_permission(p) for p in permissions]}
        if token_id is not None:
            claims["id"] = token_id
        if expires_at is not None:
            claims["exp"] = expires_at
        signing_input = f"{_HEADER}.{_b64url(_compact_json(claims))}"
        return f"{signing_input}.{_b64url(self._sign(signing_input))}"

    def verify(self, token: str, now: float) -> Identity:
        """Check a token and say whom it speaks for.

        Args:
            token: The token from the request.
            now: The current time in epoch seconds.

        Returns:
            The token's identity.

        Raises:
            TokenError: The token is unknown, forged, malformed, or expired.
        """
        checked = self._checked.get(token)
        if checked is None:
            checked = self._check(token)
            if len(self._checked) >= _CHECKED_TOKENS:  # bound the memory; fixed ones stay
                self._checked = dict(self._fixed)
            self._checked[token] = checked
        identity, expires_at = checked
        if expires_at is not None and now >= expires_at:
            raise TokenError("the token has expired")
        return identity

    def _check(self, token: str) -> _Checked:
        """Check a token's signature and read its claims; raise TokenError if they fail."""
        header, _, rest = token.partition(".")
        payload, _, signature = rest.partition(".")
        # Every token this server mints is ASCII; anything else cannot even be signed.
        if header != _HEADER or not payload or not signature or not token.isascii():
            raise TokenError("the token is not one this server issued")
        expected = self._sign(f"{header}.{payload}")
        if not hmac.compare_digest(_unb64url(signature), expected):
            raise TokenError("the token is not one this server issued")
        try:
            claims = json.loads(_unb64url(payload))
            permissions = tuple(_decode_permission(p) for p in claims["p"])
        except (ValueError, KeyError, TypeError) as error:
            raise TokenError("the token's claims are malformed") from error
        return Identity(claims.get("id"), permissions), claims.get("exp")

    def _sign(self, signing_input: str) -> bytes:
        return hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha256).digest()
