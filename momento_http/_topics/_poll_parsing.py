"""Reading a topic poll's JSON answer into events, accepting every plausible form.

The answer is protobuf mapped to JSON, so 64-bit numbers may come as strings and fields
holding zero may be left out. Unknown item kinds and unknown fields are ignored.

An answer is bounded by its entries as well as its bytes: 16 MB of `{}` would parse into
5.6 million dicts (450 MB, over a second of a blocked event loop). Its JSON is counted,
at C speed and without building anything, before it is parsed.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Final

from momento_http._topics._models import Discontinuity, Heartbeat, TopicEvent, TopicItem

__all__ = ["MAX_POLL_ENTRIES", "MalformedPollError", "parse_poll"]

MAX_POLL_ENTRIES: Final = 10_000
"""The most entries (items, discontinuities, heartbeats) one poll answer may hold.

The local server answers at most 100 per poll, and a message may be up to 4 KB on Momento
(16 MB holds 4,096 of those): 10,000 leaves room for a server that batches far more, and
bounds a parse to some 10 ms and a few MB.
"""

_MAX_TOKENS: Final = 32 * MAX_POLL_ENTRIES
"""The most JSON strings, objects, arrays and commas read: an item with all its fields has
15 (its keys counted), the rest is room for fields this SDK does not know."""

_NOT_TOKENS: Final = bytes(sorted(set(range(256)) - set(b'"{[,')))


class MalformedPollError(ValueError):
    """The answer is not what the API defines; the message says what is wrong."""


_UINT64_DIGITS = 20


def _number(body: dict[str, Any], name: str) -> int:
    """A protobuf uint64: a JSON number, or a string of digits as protobuf's JSON writes it."""
    value = body.get(name, 0)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value) if len(value) <= _UINT64_DIGITS else -1
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64:
        return value
    shown = "out of range" if isinstance(value, int) else f"a {type(value).__name__}"
    raise MalformedPollError(f"{name} is not a 64-bit unsigned integer: {shown}")


def _optional_page(body: dict[str, Any], name: str) -> int | None:
    page = _number(body, name) if name in body else 0
    return page or None


def _binary(text: Any) -> bytes:
    if not isinstance(text, str):
        raise MalformedPollError("a binary value is not a string")
    cleaned = text.replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedPollError("a binary value is not base64") from None


def _value(body: dict[str, Any]) -> str | bytes:
    value = body.get("value")
    if not isinstance(value, dict):
        raise MalformedPollError("an item has no value object")
    if "text" in value:
        if not isinstance(value["text"], str):
            raise MalformedPollError("a text value is not a string")
        return value["text"]
    if "binary" in value:
        return _binary(value["binary"])
    raise MalformedPollError("an item's value is neither text nor binary")


def _item(body: dict[str, Any]) -> TopicItem:
    publisher_id = body.get("publisher_id")
    return TopicItem(
        value=_value(body),
        sequence_number=_number(body, "topic_sequence_number"),
        sequence_page=_optional_page(body, "sequence_page"),
        publisher_id=publisher_id if isinstance(publisher_id, str) and publisher_id else None,
    )


def _discontinuity(body: dict[str, Any]) -> Discontinuity:
    return Discontinuity(
        last_sequence_number=_number(body, "last_topic_sequence"),
        new_sequence_number=_number(body, "new_topic_sequence"),
        new_sequence_page=_optional_page(body, "new_sequence_page"),
    )


def _entry(raw: Any) -> TopicEvent | None:
    if not isinstance(raw, dict):
        raise MalformedPollError("an entry of items is not an object")
    for kind, parse in (("item", _item), ("discontinuity", _discontinuity)):
        if kind in raw:
            body = raw[kind]
            if not isinstance(body, dict):
                raise MalformedPollError(f"an {kind} is not an object")
            return parse(body)
    if "heartbeat" in raw:
        return Heartbeat()
    return None  # a kind this SDK does not know yet


def _tokens(content: bytes) -> int:
    """How many strings, objects, arrays and commas valid JSON holds, counted without parsing.

    Every value parsing would build is one of these, or follows a comma. Counted on the
    bytes: in UTF-8 no byte of a multi-byte character is ASCII. Where the body is not valid
    JSON the count may be wrong, but only past the first error, where parsing stops.
    """
    # A backslash only starts an escape, within a string: without the escaped backslashes
    # and quotes, each quote left opens or closes a string.
    bare = content.replace(b"\\\\", b"").replace(b'\\"', b"")
    strings = bare.count(b'"') // 2
    if strings > _MAX_TOKENS:
        return strings
    marks = bare.translate(None, _NOT_TOKENS)  # the quotes, and the rest inside strings or not
    if len(marks) - strings <= _MAX_TOKENS:
        return len(marks) - strings
    return strings + sum(map(len, marks.split(b'"')[::2]))  # only those outside strings


def parse_poll(content: bytes) -> list[TopicEvent]:
    """Read a poll answer.

    Args:
        content: The body of a `200` answer.

    Returns:
        The events in the order the server sent them; unknown kinds left out.

    Raises:
        MalformedPollError: The body is not JSON of the documented shape, or holds more
            than `MAX_POLL_ENTRIES` entries (or more JSON than that many may).
    """
    tokens = _tokens(content)
    if tokens > _MAX_TOKENS:
        raise MalformedPollError(
            f"the answer holds over {_MAX_TOKENS} JSON values, more than "
            f"{MAX_POLL_ENTRIES} entries may"
        )
    try:
        answer = json.loads(content.decode("utf-8-sig"))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested too deep, huge numbers
        raise MalformedPollError("the answer is not JSON this SDK can read") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("items", []), list):
        raise MalformedPollError("the answer is not an object with an items list")
    entries: list[Any] = answer.get("items", [])
    if len(entries) > MAX_POLL_ENTRIES:
        raise MalformedPollError(
            f"the answer holds {len(entries)} entries, over {MAX_POLL_ENTRIES}"
        )
    events = (_entry(raw) for raw in entries)
    return [event for event in events if event is not None]
