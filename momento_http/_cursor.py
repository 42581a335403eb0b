"""A subscription's cursor: where it stands, what it shows of each received event.

The cursor moves only as events are handed to the caller, so the position it reports is
always just after the last event yielded. Until its first message a subscription started
without a position has none: each of its polls asks for "the next message published", and
once one such poll may have reached the server without bringing a message, whatever was
published before the next poll arrives cannot be asked for. The cursor remembers that, and
its first event then says so: a `Discontinuity` with `unknown_start=True`.
"""

from __future__ import annotations

from dataclasses import replace

from momento_http._models import Discontinuity, Heartbeat, TopicEvent, TopicItem

__all__ = ["Cursor"]


class Cursor:
    """The position of a subscription, and the judge of what it yields.

    Args:
        sequence_number: The next number wanted; 0 for "the next message published".
        sequence_page: The page of that number, if known.
        heartbeats: Whether heartbeats are shown to the caller.
    """

    __slots__ = ("_start_lost", "heartbeats", "next", "page")

    def __init__(self, sequence_number: int, sequence_page: int | None, *, heartbeats: bool):
        self.next = sequence_number
        self.page = sequence_page
        self.heartbeats = heartbeats
        self._start_lost = False

    @property
    def positioned(self) -> bool:
        """Whether the cursor has a position to poll from."""
        return self.next > 0

    @property
    def start_lost(self) -> bool:
        """Whether the next positioned event will come after an unknown-start notice."""
        return self._start_lost

    def poll_unanswered(self) -> None:
        """A poll that may have reached the server ended with no position for the cursor.

        Without a position, the next poll asks for "the next message" again: what was
        published in between is out of reach, so the start can no longer be vouched for.
        With a position, nothing is lost: the next poll asks from it.
        """
        if not self.positioned:
            self._start_lost = True

    def query(self) -> dict[str, str]:
        """The poll's query parameters: the position to read from."""
        # With no position the parameter is left out, as the reference page's first poll
        # does: a server numbering from 0 could read "sequence_number=0" as "from message 0".
        query = {"sequence_number": str(self.next)} if self.next else {}
        if self.page is not None:
            query["sequence_page"] = str(self.page)
        return query

    def check(self, event: TopicEvent) -> list[TopicEvent]:
        """What the caller should see of one received event, given the position."""
        if isinstance(event, Heartbeat):
            return [event] if self.heartbeats else []
        if isinstance(event, Discontinuity):
            page = event.new_sequence_page or self.page
            if self._start_lost and not self.positioned:
                return [self._unknown_start(event.new_sequence_number, page)]
            stale = page == self.page and self.positioned and event.new_sequence_number <= self.next
            # A stale notice announces nothing this subscription has not already passed.
            return [] if stale else [replace(event, new_sequence_page=page)]
        return self._check_item(event)

    def _check_item(self, event: TopicItem) -> list[TopicEvent]:
        page = event.sequence_page or self.page
        item = event if event.sequence_page == page else replace(event, sequence_page=page)
        if not self.positioned:  # no position yet: the first message sets it
            if self._start_lost:
                return [self._unknown_start(event.sequence_number, page), item]
            return [item]
        new_page = self.page is not None and page != self.page
        if not new_page and event.sequence_number < self.next:
            return []  # seen already: the server repeated it
        if new_page or event.sequence_number > self.next:
            return [Discontinuity(self.next - 1, event.sequence_number, page), item]
        return [item]

    def _unknown_start(self, number: int, page: int | None) -> Discontinuity:
        self._start_lost = False  # said once; a page numbered from 0 must not say it twice
        return Discontinuity(0, number, page, unknown_start=True)

    def advance(self, event: TopicEvent) -> TopicEvent:
        """Move past an event as it is handed to the caller; give it back."""
        if isinstance(event, TopicItem):
            self.next, self.page = event.sequence_number + 1, event.sequence_page
        elif isinstance(event, Discontinuity):
            self.next, self.page = event.new_sequence_number, event.new_sequence_page
        return event
