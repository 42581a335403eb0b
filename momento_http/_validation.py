"""Checks and encodings applied to arguments before any request is sent."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from urllib.parse import quote

from momento_http._errors import InvalidArgumentError

__all__ = [
    "Key",
    "Value",
    "cache_path",
    "encode_key",
    "encode_name",
    "encode_value",
    "sequence_position",
    "topic_path",
    "ttl_seconds",
]

Key = str | bytes
"""A cache key: text, or any bytes."""

Value = str | bytes
"""A cache value or topic message: text (sent as UTF-8) or bytes."""

# RFC 3986 unreserved characters: text made only of these needs no encoding anywhere.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.~-]+")


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:  # lone surrogates have no UTF-8 form
        raise InvalidArgumentError(f"{what} is not encodable as UTF-8: {error.reason}") from None


def encode_name(name: object, what: str) -> str:
    """Check a cache or topic name and escape it for use as one URL path segment.

    Args:
        name: The name the caller gave.
        what: What the name is ("cache" or "topic"), for the error message.

    Returns:
        The name percent-encoded, `/` included; `.` and `..` have their dots encoded too,
        since URL normalisation would otherwise remove them as path steps.

    Raises:
        InvalidArgumentError: The name is not a non-empty `str`.
    """
    if not isinstance(name, str):
        raise InvalidArgumentError(f"{what} name must be a str, not {type(name).__name__}")
    if not name:
        raise InvalidArgumentError(f"{what} name is empty")
    encoded = quote(_utf8(name, f"{what} name"), safe="")
    return encoded.replace(".", "%2E") if name in (".", "..") else encoded


def encode_key(key: object) -> tuple[str, str]:
    """Choose the query parameter that carries a key, and its value.

    Plain URL-safe text goes as `key`; any other text goes as `key_base64` of its UTF-8
    bytes, and so does every `bytes` key, so a text key and its bytes name the same item.

    Args:
        key: The key the caller gave.

    Returns:
        `("key", text)` or `("key_base64", URL-safe unpadded base64)`.

    Raises:
        InvalidArgumentError: The key is empty, or neither `str` nor `bytes`.
    """
    if isinstance(key, str):
        if _PLAIN_KEY.fullmatch(key):
            return "key", key
        raw = _utf8(key, "key")
    elif isinstance(key, bytes | bytearray | memoryview):
        raw = bytes(key)
    else:
        raise InvalidArgumentError(f"key must be str or bytes, not {type(key).__name__}")
    if not raw:
        raise InvalidArgumentError("key is empty")
    return "key_base64", base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def encode_value(value: object) -> bytes:
    """Turn a value into the request body.

    Args:
        value: The value the caller gave.

    Returns:
        The bytes to send: text as UTF-8, bytes as they are.

    Raises:
        InvalidArgumentError: The value is neither `str` nor `bytes`.
    """
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return _utf8(value, "value")
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise InvalidArgumentError(f"value must be str or bytes, not {type(value).__name__}")


def ttl_seconds(ttl: object, default: int | None) -> int:
    """Turn a TTL into the whole number of seconds the API takes.

    Args:
        ttl: The TTL the caller gave: `int` seconds, a `timedelta`, or None for the default.
        default: The client's default TTL in seconds, already checked, or None.

    Returns:
        A positive number of seconds.

    Raises:
        InvalidArgumentError: No TTL was given and there is no default, or the TTL is not a
            positive whole number of seconds (a `bool` is not a number here).
    """
    if ttl is None:
        if default is None:
            raise InvalidArgumentError(
                "no ttl: pass ttl= to this call or default_ttl= to the client"
            )
        return default
    if isinstance(ttl, timedelta):
        seconds, remainder = divmod(ttl, timedelta(seconds=1))
        if remainder:
            raise InvalidArgumentError(f"ttl must be a whole number of seconds, not {ttl}")
    elif isinstance(ttl, int) and not isinstance(ttl, bool):
        seconds = ttl
    else:
        raise InvalidArgumentError(
            f"ttl must be an int number of seconds or a timedelta, not {type(ttl).__name__}"
        )
    if seconds <= 0:
        raise InvalidArgumentError(f"ttl must be positive, not {seconds} seconds")
    return int(seconds)


def sequence_position(value: object, name: str) -> int:
    """Check a saved subscription position: a sequence number or page.

    Args:
        value: What the caller gave: a non-negative `int`, or None for none.
        name: The argument's name, for the error message.

    Returns:
        The number; 0 for None.

    Raises:
        InvalidArgumentError: It is not a non-negative `int`.
    """
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"{name} must be a non-negative int or None, not {value!r}")
    return value


def cache_path(cache: object) -> str:
    """The path of a cache's items, `/cache/{cache}`.

    Raises:
        InvalidArgumentError: The name is not a non-empty `str`.
    """
    return f"/cache/{encode_name(cache, 'cache')}"


def topic_path(cache: object, topic: object) -> str:
    """The path of a topic, `/topics/{cache}/{topic}`.

    Raises:
        InvalidArgumentError: A name is not a non-empty `str`.
    """
    return f"/topics/{encode_name(cache, 'cache')}/{encode_name(topic, 'topic')}"
