"""What a server answered: the one mapping from status to exception, and readable messages.

Error bodies come in every form: Momento's short text, JSON problem details, a proxy's HTML
page, or anything at all from a hostile server. Each is turned into a short printable
message with the client's token scrubbed out, and nothing in it can make parsing fail.
"""

from __future__ import annotations

import html
import json
import math
import re
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Final

import httpx

from momento_http._errors import (
    AuthenticationError,
    CacheNotFoundError,
    InvalidArgumentError,
    LimitExceededError,
    MomentoError,
    PermissionDeniedError,
    ServerError,
)

__all__ = ["ERROR_BODY_BYTES", "Answer", "error_for_status", "says_key_not_found"]

ERROR_BODY_BYTES: Final = 64 * 1024
"""How much of an error answer's body is read; the rest is left unread."""

_MAX_MESSAGE_CHARS: Final = 500
_MAX_SUMMARY_CHARS: Final = 200
_JSON_MESSAGE_FIELDS: Final = ("message", "title", "detail", "error")
_HTML_HEADING = re.compile(r"<(title|h1)[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]*>")
_BLANKS = re.compile(r"\s+")
_ERROR_BY_STATUS: Final[dict[int, type[MomentoError]]] = {
    400: InvalidArgumentError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    413: InvalidArgumentError,  # the item or message is over the size limit
}


class Answer:
    """A response read in full: status, headers, and body.

    Attributes:
        status: The HTTP status code.
        reason: The reason phrase.
        headers: The response headers.
        body: The body's bytes, as sent (never decompressed).
    """

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(self, status: int, reason: str, headers: httpx.Headers, body: bytes) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body


def _texts(answer: Answer) -> list[str]:
    """What the body says: the JSON message fields if it is a JSON object, else its text."""
    text = answer.body.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        try:
            decoded = json.loads(text)
        except (ValueError, RecursionError):  # deep nesting, huge numbers: not a message
            return [text]
        if isinstance(decoded, dict):
            found = [decoded.get(name) for name in _JSON_MESSAGE_FIELDS]
            fields = [field.strip() for field in found if isinstance(field, str)]
            return [field for field in fields if field] or [text]
    return [text]


def _is_html(answer: Answer, text: str) -> bool:
    content_type = answer.headers.get("content-type", "").lower()
    return "html" in content_type or text[:15].lower().startswith(("<!doctype", "<html"))


def _text_of_html(page: str) -> str:
    heading = _HTML_HEADING.search(page)
    text = heading.group(2) if heading else _HTML_TAG.sub(" ", page)
    return html.unescape(_HTML_TAG.sub(" ", text))


def _clip(text: str, limit: int) -> str:
    """The text printable, on one line, cut to `limit` characters; give it scrubbed."""
    text = text[: limit * 4]
    text = _BLANKS.sub(" ", "".join(c if c.isprintable() else " " for c in text)).strip()
    return text if len(text) <= limit else text[:limit] + "…"


def _message(answer: Answer, scrub: Callable[[str], str]) -> str:
    """The body as a short, printable message, the token scrubbed out before any cut."""
    texts = _texts(answer)
    if len(texts) == 1 and _is_html(answer, texts[0]):
        return _clip(scrub(_text_of_html(texts[0])), _MAX_SUMMARY_CHARS)
    return _clip(scrub(" ".join(texts)), _MAX_MESSAGE_CHARS)


def says_key_not_found(answer: Answer) -> bool:
    """Whether a 404 says that the key is missing (a miss), in text or a JSON message.

    Args:
        answer: A 404 answer.

    Returns:
        True when the body, or one of its JSON message fields, says "key not found".
    """
    return any("key not found" in text.lower() for text in _texts(answer)[:4])


def _retry_after(value: str | None) -> float | None:
    """Read `Retry-After`, in seconds or as an HTTP date; junk counts as absent."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = max(seconds, 0.0)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def error_for_status(
    answer: Answer, *, method: str, url: httpx.URL | str, scrub: Callable[[str], str]
) -> MomentoError:
    """The exception for an answer that is not what the call expected: the one mapping.

    Args:
        answer: The answer, body read (at most `ERROR_BODY_BYTES` of it).
        method: The request's method.
        url: The request's URL.
        scrub: Hides the client's tokens in the server's text.

    Returns:
        The exception to raise, carrying the status, the server's message, and the request's
        method and redacted URL.
    """
    status = answer.status
    reason = _clip(scrub(answer.reason), _MAX_SUMMARY_CHARS)
    message = _message(answer, scrub) or reason or f"HTTP {status}"
    retry_after = None
    if status in (httpx.codes.TOO_MANY_REQUESTS, httpx.codes.SERVICE_UNAVAILABLE):
        retry_after = _retry_after(answer.headers.get("retry-after"))
        if retry_after is not None:
            message += f" (the server asks to wait {retry_after:g} s before trying again)"
    if status == httpx.codes.TOO_MANY_REQUESTS:
        return LimitExceededError(
            message, retry_after=retry_after, status_code=status, method=method, url=url
        )
    error_type = _ERROR_BY_STATUS.get(status)
    if status == httpx.codes.NOT_FOUND and "cache not found" in message.lower():
        error_type = CacheNotFoundError
    if error_type is not None:
        return error_type(message, status_code=status, method=method, url=url)
    if status == httpx.codes.NOT_FOUND:
        message = f"a 404 naming neither a key nor a cache (is the base URL right?): {message}"
    elif status < httpx.codes.BAD_REQUEST:
        message = f"unexpected {status} {reason} for a {method}: {message}"
    return ServerError(message, retry_after=retry_after, status_code=status, method=method, url=url)
