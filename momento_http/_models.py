"""The events a topic subscription yields: frozen, slotted, and ready for `match`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Discontinuity", "Heartbeat", "TopicEvent", "TopicItem"]


@dataclass(frozen=True, slots=True)
class TopicItem:
    """A message published to the topic.

    Attributes:
        value: `str` for a text message, `bytes` for a binary one.
        sequence_number: The message's number within its page; numbers rise by one.
        sequence_page: The topic instance the number belongs to, when the server says.
        publisher_id: The id of the token that published it, when the server says.
    """

    value: str | bytes
    sequence_number: int
    sequence_page: int | None = None
    publisher_id: str | None = None


@dataclass(frozen=True, slots=True)
class Discontinuity:
    """Messages were lost: those after `last_sequence_number` up to `new_sequence_number`.

    It comes when the server's buffer moved past the messages asked for, when the topic
    started a new page (it was evicted or recreated), or when numbers were skipped.

    Attributes:
        last_sequence_number: The last number before the gap.
        new_sequence_number: The next number that will be yielded.
        new_sequence_page: The page that number belongs to, when known.
    """

    last_sequence_number: int
    new_sequence_number: int
    new_sequence_page: int | None = None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The server is alive but had nothing to send; yielded only when asked for."""


TopicEvent = TopicItem | Discontinuity | Heartbeat
"""Anything a subscription yields."""
