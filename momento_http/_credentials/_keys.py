"""Token formats, regions, and how the base URL is chosen.

Momento users hold one of three kinds of credential:

- a v1 API key or disposable token: base64 of `{"api_key": "<jwt>", "endpoint": "<cell>"}`;
  the HTTP API is sent the inner `api_key`;
- a legacy auth token: a JWT whose claim `c` is the cache host, `cache.<cell>`;
- a v2 API key: a JWT with claim `t == "g"` and no endpoint; the endpoint comes from elsewhere.

Any other non-empty string is sent as it is (a local server's fixed token, for instance), as
long as a base URL can be found for it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from momento_http._errors import InvalidArgumentError

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "REGION_ENDPOINTS",
    "Credentials",
    "jwt_expiry",
    "parse_api_key",
    "resolve_base_url",
]

# Momento's published region list: https://docs.momentohq.com/platform/regions (its source,
# github.com/momentohq/public-dev-docs docs/platform/regions/index.md, as of commit 6d688996,
# 2026-08-17), which names each region's cell and composes the HTTP API's base URL as
# https://api.cache.<cell>.prod.a.momentohq.com. The first eight are also on the HTTP API
# reference pages; eu-west-2, eu-north-1 and ap-southeast-2 are only on the newer list.
REGION_ENDPOINTS: dict[str, str] = {
    "us-west-2": "cell-4-us-west-2-1.prod.a.momentohq.com",
    "us-east-1": "cell-us-east-1-1.prod.a.momentohq.com",
    "us-east-2": "cell-1-us-east-2-1.prod.a.momentohq.com",
    "ap-northeast-1": "cell-ap-northeast-1-1.prod.a.momentohq.com",
    "ap-southeast-1": "cell-1-ap-southeast-1-1.prod.a.momentohq.com",
    "eu-west-1": "cell-1-eu-west-1-1.prod.a.momentohq.com",
    "eu-central-1": "cell-1-eu-central-1-1.prod.a.momentohq.com",
    "ap-south-1": "cell-1-ap-south-1-1.prod.a.momentohq.com",
    "eu-west-2": "cell-1-eu-west-2-1.prod.a.momentohq.com",
    "eu-north-1": "cell-1-eu-north-1-1.prod.a.momentohq.com",
    "ap-southeast-2": "cell-1-ap-southeast-2-1.prod.a.momentohq.com",
}
"""The cell endpoint of each AWS region Momento publishes (see the comment above)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """A parsed API key.

    Attributes:
        token: What the HTTP API is sent; never shown in a repr.
        endpoint: The cell endpoint the key names (`cell-….momentohq.com`), if any.
    """

    token: str = field(repr=False)
    endpoint: str | None = None


def _b64decode_loose(text: str) -> bytes:
    """Decode base64 in either alphabet, padded or not; raise ValueError when it is not."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except binascii.Error as error:
        raise ValueError("not base64") from error


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        decoded = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    return decoded if isinstance(decoded, dict) else None


def _jwt_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT, unverified, or None when the token is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:  # noqa: PLR2004
        return None
    try:
        return _json_object(_b64decode_loose(parts[1]))
    except ValueError:
        return None


def jwt_expiry(token: str) -> float | None:
    """When a JWT expires (its `exp` claim, unverified), or None if it does not say.

    Args:
        token: A token; anything that is not a JWT has no expiry.

    Returns:
        Epoch seconds, or None.
    """
    claims = _jwt_claims(token)
    expiry = None if claims is None else claims.get("exp")
    if isinstance(expiry, int | float) and not isinstance(expiry, bool):
        return float(expiry)
    return None


def _v1_key(api_key: str) -> Credentials | None:
    try:
        envelope = _json_object(_b64decode_loose(api_key))
    except ValueError:
        return None
    if envelope is None:
        return None
    inner, endpoint = envelope.get("api_key"), envelope.get("endpoint")
    if not isinstance(inner, str) or not inner:
        raise InvalidArgumentError("the API key's JSON has no 'api_key' string")
    if not isinstance(endpoint, str) or not endpoint:
        raise InvalidArgumentError("the API key's JSON has no 'endpoint' string")
    if not inner.isascii() or not inner.isprintable() or any(c.isspace() for c in inner):
        raise InvalidArgumentError("the API key's token holds characters a header cannot carry")
    return Credentials(token=inner, endpoint=endpoint)


def parse_api_key(api_key: str) -> Credentials:
    """Read an API key in any of the formats Momento issues.

    Args:
        api_key: A v1 API key, a legacy JWT auth token, a v2 API key, or an opaque token.

    Returns:
        The token to send and the endpoint the key names, if it names one.

    Raises:
        InvalidArgumentError: The key is empty, not a string, holds whitespace, control or
            non-ASCII characters, or is a v1 key whose JSON lacks its fields (or its token
            is not ASCII). The message never includes the key.
    """
    if not isinstance(api_key, str):
        raise InvalidArgumentError(f"api_key must be a str, not {type(api_key).__name__}")
    if not api_key:
        raise InvalidArgumentError("api_key is empty")
    if not api_key.isprintable() or any(char.isspace() for char in api_key):
        raise InvalidArgumentError("api_key holds whitespace or control characters")
    if not api_key.isascii():  # it could not go in a header
        raise InvalidArgumentError("api_key holds characters that are not ASCII")
    claims = _jwt_claims(api_key)
    if claims is not None:
        cache_host = claims.get("c")
        if isinstance(cache_host, str) and cache_host:
            return Credentials(token=api_key, endpoint=cache_host.removeprefix("cache."))
        return Credentials(token=api_key)
    return _v1_key(api_key) or Credentials(token=api_key)


def _endpoint_url(endpoint: str, source: str) -> httpx.URL:
    """The HTTPS base URL of a cell endpoint, in any of the spellings users give it."""
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise InvalidArgumentError(f"{source} must be a non-empty host name")
    host = endpoint.strip().rstrip("/")
    if "://" in host or "/" in host:
        raise InvalidArgumentError(
            f"{source} must be a host name such as 'cell-1-eu-west-1-1.prod.a.momentohq.com'; "
            "pass a full URL as base_url"
        )
    if host.startswith("api.cache."):
        pass
    elif host.startswith("cache."):
        host = "api." + host
    else:
        host = "api.cache." + host
    return httpx.URL(f"https://{host}")


def _base_url(base_url: str | httpx.URL | httpx2.URL, source: str = "base_url") -> httpx.URL:
    try:
        url = httpx.URL(base_url if isinstance(base_url, str) else str(base_url))
    except (TypeError, httpx.InvalidURL) as error:
        raise InvalidArgumentError(f"{source} is not a valid URL: {error}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidArgumentError(f"{source} must be an http:// or https:// URL with a host")
    if url.query or url.fragment or url.userinfo:
        raise InvalidArgumentError(f"{source} must not carry a query, a fragment or a user")
    return url.copy_with(path=url.path.rstrip("/"))


def resolve_base_url(
    *,
    base_url: str | httpx.URL | httpx2.URL | None,
    endpoint: str | None,
    region: str | None,
    key_endpoint: str | None,
    env_base_url: str | None,
    env_endpoint: str | None,
) -> httpx.URL:
    """Choose the base URL: base_url > endpoint > region > the key's endpoint > the env.

    From the environment, `MOMENTO_BASE_URL` comes before `MOMENTO_ENDPOINT`.

    Args:
        base_url: A full URL, such as a local server's `http://127.0.0.1:8080`.
        endpoint: A cell endpoint, with or without the `api.cache.` prefix.
        region: An AWS region name from `REGION_ENDPOINTS`.
        key_endpoint: The endpoint named inside the API key.
        env_base_url: The value of `MOMENTO_BASE_URL`: a full URL, as `base_url`.
        env_endpoint: The value of `MOMENTO_ENDPOINT`.

    Returns:
        The base URL requests are made against.

    Raises:
        InvalidArgumentError: A given value is malformed, or none of them names an endpoint.
    """
    if base_url is not None:
        return _base_url(base_url)
    if endpoint is not None:
        return _endpoint_url(endpoint, "endpoint")
    if region is not None:
        cell = REGION_ENDPOINTS.get(region)
        if cell is None:
            known = ", ".join(REGION_ENDPOINTS)
            raise InvalidArgumentError(f"unknown region {region!r}; known regions: {known}")
        return _endpoint_url(cell, "region")
    if key_endpoint is not None:
        return _endpoint_url(key_endpoint, "the API key's endpoint")
    if env_base_url:
        return _base_url(env_base_url, "MOMENTO_BASE_URL")
    if env_endpoint:
        return _endpoint_url(env_endpoint, "MOMENTO_ENDPOINT")
    raise InvalidArgumentError(
        "no endpoint: the API key names none, so pass base_url=, endpoint= or region=, "
        "or set MOMENTO_BASE_URL or MOMENTO_ENDPOINT"
    )
