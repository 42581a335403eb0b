"""Topic events as JSON lines: what `momento-http subscribe` prints."""

from __future__ import annotations

import base64
import json

from momento_http import Discontinuity, TopicEvent, TopicItem

__all__ = ["json_line"]


def json_line(event: TopicEvent) -> str:
    """Describe an event as one line of JSON.

    A text message's value goes as `"value"`; a binary one as `"value_base64"`.

    Args:
        event: What the subscription yielded.

    Returns:
        The JSON text, without a line break.
    """
    fields: dict[str, object]
    if isinstance(event, TopicItem):
        if isinstance(event.value, str):
            fields = {"type": "item", "value": event.value}
        else:
            fields = {"type": "item", "value_base64": base64.b64encode(event.value).decode()}
        fields |= {
            "sequence_number": event.sequence_number,
            "sequence_page": event.sequence_page,
            "publisher_id": event.publisher_id,
        }
    elif isinstance(event, Discontinuity):
        fields = {
            "type": "discontinuity",
            "last_sequence_number": event.last_sequence_number,
            "new_sequence_number": event.new_sequence_number,
            "new_sequence_page": event.new_sequence_page,
            "unknown_start": event.unknown_start,
        }
    else:
        fields = {"type": "heartbeat"}
    return json.dumps(fields, ensure_ascii=False)
