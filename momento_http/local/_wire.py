"""Topic messages on the wire: a poll's JSON answer, and a published body's value."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from momento_http.local._http import RejectError
from momento_http.local._topic_store import Entry, Gap, Heartbeat

__all__ = ["message_value", "topic_json"]


def _entry_json(entry: Entry) -> dict[str, Any]:
    if isinstance(entry, Heartbeat):
        return {"heartbeat": {}}
    if isinstance(entry, Gap):
        return {
            "discontinuity": {
                "last_topic_sequence": entry.last_sequence_number,
                "new_topic_sequence": entry.new_sequence_number,
                "new_sequence_page": entry.new_sequence_page,
            }
        }
    value = (
        {"text": entry.value}
        if isinstance(entry.value, str)
        else {"binary": base64.b64encode(entry.value).decode("ascii")}
    )
    item: dict[str, Any] = {
        "topic_sequence_number": entry.sequence_number,
        "sequence_page": entry.sequence_page,
        "value": value,
    }
    if entry.publisher_id is not None:
        item["publisher_id"] = entry.publisher_id
    return {"item": item}


def _with_unknown_fields(item: dict[str, Any]) -> dict[str, Any]:
    """The same item with a field no client knows at each level."""
    ((kind, body),) = item.items()
    return {kind: {**body, "x_future_field": [1, "two"]}, "x_future_sibling": True}


def topic_json(entries: Iterable[Entry], extra_fields: bool) -> bytes:
    """A poll's answer: `{"items": [...]}`, with unknown fields added when asked."""
    items = [_entry_json(entry) for entry in entries]
    answer: dict[str, Any] = {"items": items}
    if extra_fields:
        items[:] = [_with_unknown_fields(item) for item in items]
        items.insert(0, {"x_future_kind": {"anything": 1}})
        answer["x_future_top_level"] = {"ignored": True}
    return json.dumps(answer, separators=(",", ":")).encode()


def message_value(body: bytes, content_type: str | None) -> str | bytes:
    """Text for `text/plain`, bytes for octet-stream; otherwise text when the body is UTF-8.

    `curl -d` sends `application/x-www-form-urlencoded`, and the reference pages' publish
    examples use it for text.

    Raises:
        RejectError: A `text/plain` body is not UTF-8.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == "application/octet-stream":
        return body
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        if media_type == "text/plain":
            raise RejectError(400, "a text/plain message must be valid UTF-8") from None
        return body
