"""Reading a topic poll's JSON answer into events, accepting every plausible form.

The answer is protobuf mapped to JSON, so 64-bit numbers may come as strings and fields
holding zero may be left out. Unknown item kinds and unknown fields are ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from momento_http._models import Discontinuity, Heartbeat, TopicEvent, TopicItem

__all__ = ["MalformedPollError", "parse_poll"]


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


def parse_poll(content: bytes) -> list[TopicEvent]:
    """Read a poll answer.

    Args:
        content: The body of a `200` answer.

    Returns:
        The events in the order the server sent them; unknown kinds left out.

    Raises:
        MalformedPollError: The body is not JSON of the documented shape.
    """
    try:
        answer = json.loads(content)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested too deep, huge numbers
        raise MalformedPollError("the answer is not JSON this SDK can read") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("items", []), list):
        raise MalformedPollError("the answer is not an object with an items list")
    events = (_entry(raw) for raw in answer.get("items", []))
    return [event for event in events if event is not None]
