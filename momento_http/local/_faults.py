"""Fault rules: make matching requests stall, fail, drop, or answer what you choose.

Every rule is checked field by field however it arrives (in process, `--fault`, or the
`x-momento-local-fault` header), so a rule the server accepts can always be carried out:
no rule can make it hang for ever, fail, or run for ever by accident.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeGuard

__all__ = [
    "MAX_DELAY_SECONDS",
    "MAX_RETRY_AFTER_SECONDS",
    "Disconnect",
    "Fault",
    "RequestKind",
    "key_bytes",
    "request_kind",
]

Disconnect = Literal["before_response", "mid_body"]

RequestKind = Literal["item", "poll", "publish"]
"""What a request does: an item's get, set or delete; a topic's poll; or a publish."""

MAX_DELAY_SECONDS = 300.0
"""The longest `delay` a rule may ask for: past any client's timeout, short of a hang."""

MAX_RETRY_AFTER_SECONDS = 86_400.0
"""The largest `retry_after` a rule may ask for (a day)."""

_METHODS = frozenset({"GET", "PUT", "DELETE", "POST"})
_DISCONNECTS = ("before_response", "mid_body")
_KIND_METHODS: dict[str, frozenset[str]] = {
    "item": frozenset({"GET", "PUT", "DELETE"}),
    "poll": frozenset({"GET"}),
    "publish": frozenset({"POST"}),
}
_KIND_NAMES = {"item": "an item request", "poll": "a poll", "publish": "a publish"}


def request_kind(method: str, topic: str | None) -> RequestKind:
    """What a request of this method, naming this topic (None for an item), does."""
    if topic is None:
        return "item"
    return "publish" if method == "POST" else "poll"


def key_bytes(key: str | bytes | None) -> bytes | None:
    """A rule's key as requests carry it: text as UTF-8."""
    return key.encode() if isinstance(key, str) else key


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_seconds(name: str, value: object, high: float) -> None:
    if not (_is_number(value) and math.isfinite(value) and 0 <= value <= high):
        raise ValueError(
            f"{name} must be a finite, non-negative number of seconds up to {high:g}, "
            f"not {value!r:.40}"
        )


def _is_unicode(text: str) -> bool:
    """Whether the text has a UTF-8 form: a lone surrogate (U+D800 alone) has none."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_name(name: str, value: object, *, binary: bool = False) -> None:
    if value is None or (binary and isinstance(value, bytes) and value):
        return
    if not (isinstance(value, str) and value and _is_unicode(value)):
        kinds = "a non-empty string of valid Unicode" + (", bytes," if binary else "")
        raise ValueError(f"{name} must be {kinds} or null, not {value!r:.40}")


def _is_header_value(text: object) -> bool:
    """Printable ASCII, with no space at either end (RFC 9110 §5.5: a field value)."""
    return (
        isinstance(text, str) and text.isascii() and text.isprintable() and text == text.strip(" ")
    )


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do to the next matching requests instead of serving them plainly.

    - `status` (with `message`, `content_type`, `retry_after`): answer that instead. A
      `200` with a body of your own makes a poll answer anything, malformed JSON included.
    - `disconnect`: serve the request, then cut the connection before the answer
      (`"before_response"`) or halfway through its body (`"mid_body"`).
    - `delay` alone: serve the request and hold the answer back; the work is done, but
      the client may give up before it hears so. With a status, wait before answering.

    Attributes:
        status: The HTTP status to answer with (200 to 599), or None to serve the request.
            A 204 or 304 carries no body.
        message: The response body, with `status`.
        content_type: The response's `Content-Type`, with `status`: printable ASCII.
        retry_after: Seconds for a `Retry-After` header, with `status`: 0 to 86,400.
        disconnect: Cut the connection before the answer or mid-body.
        delay: Seconds to hold the answer back: 0 to 300.
        method: Match only this HTTP method (any when None).
        cache: Match only requests naming this cache (any when None).
        topic: Match only requests naming this topic (any when None).
        key: Match only item requests naming this key (any when None): text (as UTF-8)
            or bytes.
        request: Match only this kind of request (any when None): `"item"` (an item's
            get, set or delete), `"poll"` (a topic's poll) or `"publish"`.
        count: How many requests the rule applies to before it is spent (a whole number,
            1 or more); None for all.
        probability: The chance that a matching request is hit, above 0 and at most 1; a
            miss spends no use.

    Raises:
        ValueError: A field has the wrong type or is out of range; the message names it.
    """

    status: int | None = None
    message: str | bytes = "injected fault"
    content_type: str = "text/plain; charset=utf-8"
    retry_after: float | None = None
    disconnect: Disconnect | None = None
    delay: float = 0.0
    method: str | None = None
    cache: str | None = None
    topic: str | None = None
    count: int | None = 1
    probability: float = 1.0
    key: str | bytes | None = field(default=None, kw_only=True)
    request: RequestKind | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        self._check_answer()
        self._check_matching()
        if self.status is None and self.disconnect is None and not self.delay:
            raise ValueError("a fault needs a status, a disconnect, or a delay")
        if self.status is not None and self.disconnect is not None:
            raise ValueError("a fault answers with a status or disconnects, not both")

    def _check_answer(self) -> None:
        status = self.status
        if status is not None and not (
            isinstance(status, int) and not isinstance(status, bool) and 200 <= status <= 599  # noqa: PLR2004
        ):
            raise ValueError(f"status must be a whole number from 200 to 599, not {status!r:.40}")
        message = self.message
        if not isinstance(message, str | bytes):
            raise ValueError(f"message must be a string, not {message!r:.40}")  # noqa: TRY004
        if isinstance(message, str) and not _is_unicode(message):
            raise ValueError("message must be valid Unicode: it holds a lone surrogate")
        if not _is_header_value(self.content_type):
            raise ValueError("content_type must be printable ASCII, with no space at either end")
        if self.retry_after is not None:
            _check_seconds("retry_after", self.retry_after, MAX_RETRY_AFTER_SECONDS)
        if self.disconnect is not None and self.disconnect not in _DISCONNECTS:
            raise ValueError("disconnect must be 'before_response' or 'mid_body'")
        _check_seconds("delay", self.delay, MAX_DELAY_SECONDS)

    def _check_matching(self) -> None:
        if self.method is not None:
            method = self.method.upper() if isinstance(self.method, str) else None
            if method not in _METHODS:
                raise ValueError(f"method must be one of {sorted(_METHODS)} or null")
            object.__setattr__(self, "method", method)
        _check_name("cache", self.cache)
        _check_name("topic", self.topic)
        _check_name("key", self.key, binary=True)
        self._check_request()
        count = self.count
        if count is not None and not (
            isinstance(count, int) and not isinstance(count, bool) and count >= 1
        ):
            raise ValueError(
                f"count must be a whole number, at least 1, or null for every request; "
                f"not {count!r:.40}"
            )
        probability = self.probability
        if not (_is_number(probability) and math.isfinite(probability) and 0 < probability <= 1):
            raise ValueError(
                f"probability must be a number above 0 and at most 1, not {probability!r:.40}"
            )

    def _check_request(self) -> None:
        """The request kind, and that no two fields rule each other out."""
        request = self.request
        if request is not None and not (isinstance(request, str) and request in _KIND_METHODS):
            raise ValueError("request must be 'item', 'poll', 'publish' or null")
        if self.key is not None and self.topic is not None:
            raise ValueError("key names an item, topic a topic: a rule names one or the other")
        kind = self.request or ("item" if self.key is not None else None)
        if kind is None:
            return
        if self.key is not None and kind != "item":
            raise ValueError(f"key names an item: it never matches {_KIND_NAMES[kind]}")
        if self.topic is not None and kind == "item":
            raise ValueError("topic names a topic: it never matches an item request")
        if self.method is not None and self.method not in _KIND_METHODS[kind]:
            raise ValueError(f"method {self.method} never matches {_KIND_NAMES[kind]}")

    @classmethod
    def from_json(cls, text: str) -> Fault:
        """Read a rule written as a JSON object of the attributes, e.g. `{"status": 503}`.

        Raises:
            ValueError: The text is not such an object, or the rule is malformed; the
                message names the field at fault.
        """
        try:
            spec: Any = json.loads(text)
        except (ValueError, RecursionError):
            raise ValueError("a fault rule must be a JSON object") from None
        if not isinstance(spec, dict):
            raise ValueError("a fault rule must be a JSON object")  # noqa: TRY004 - bad text
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(f"unknown fault attributes: {', '.join(unknown)}")
        return cls(**spec)

    @property
    def body(self) -> bytes:
        """The response body as bytes."""
        return self.message.encode() if isinstance(self.message, str) else self.message

    def matches(self, method: str, cache: str, topic: str | None, key: bytes | None = None) -> bool:
        """Whether a request falls under this rule: an item's (`topic` None) or a topic's."""
        return (
            self.method in (None, method)
            and self.cache in (None, cache)
            and self.topic in (None, topic)
            and key_bytes(self.key) in (None, key)
            and self.request in (None, request_kind(method, topic))
        )

    @property
    def kind(self) -> str:
        """What the rule does, as `fault_hits` counts it: `"status 503"`, `"stall"`, …."""
        if self.disconnect is not None:
            return f"disconnect {self.disconnect}"
        if self.status is not None:
            return f"status {self.status}"
        return "stall"
