"""Topic events as JSON lines: what `momento-http subscribe` prints."""

from __future__ import annotations

import base64
import json
import re

from momento_http import Discontinuity, TopicEvent, TopicItem

__all__ = ["json_line"]

# A lone surrogate: JSON may escape one (a text value of "\ud800"), but no UTF-8 can hold it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escaped(surrogate: re.Match[str]) -> str:
    return f"\\u{ord(surrogate[0]):04x}"


def json_line(event: TopicEvent) -> str:
    r"""Describe an event as one line of JSON.

    A text message's value goes as `"value"`; a binary one as `"value_base64"`. Text is
    written as it is, but for a lone surrogate (which a server may send, escaped, and no
    output encoding can hold): it stays escaped, as `\udxxx`.

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
    # Outside strings JSON holds only ASCII: any surrogate is within one, where its escape
    # reads back as the same character.
    return _SURROGATE.sub(_escaped, json.dumps(fields, ensure_ascii=False))
