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

    With `unknown_start=True` it is the first event of a subscription that had no position
    yet (one started without `sequence_number`) and lost track of its start: a poll that
    may have reached the server ended without a message (its answer was cut, it failed, it
    was cancelled, or it came back empty), and the HTTP API cannot ask "from where I was"
    without a position. Messages published after the subscription started and before
    `new_sequence_number` may have been missed, or not; `last_sequence_number` is then 0.
    Catch it with `case Discontinuity(unknown_start=True):`.

    Attributes:
        last_sequence_number: The last number before the gap (0 when `unknown_start`).
        new_sequence_number: The next number that will be yielded.
        new_sequence_page: The page that number belongs to, when known.
        unknown_start: The gap runs from the subscription's start, which the subscription
            cannot vouch for: what came before `new_sequence_number` is unknown.
    """

    last_sequence_number: int
    new_sequence_number: int
    new_sequence_page: int | None = None
    unknown_start: bool = False


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The server is alive but had nothing to send; yielded only when asked for."""


TopicEvent = TopicItem | Discontinuity | Heartbeat
"""Anything a subscription yields."""
