"""A subscription's cursor: where it stands, what it shows of each received event.

The cursor moves only as events are handed to the caller, so the position it reports is
always just after the last event yielded. Until its first message a subscription started
without a position has none: each of its polls asks for "the next message published", and
once one such poll may have reached the server without bringing a message, whatever was
published before the next poll arrives cannot be asked for. The cursor remembers that, and
its first event then says so: a `Discontinuity` with `unknown_start=True`.

A server may also go back to a page the subscription left (two instances of a topic
answering in turn): the cursor remembers how far it got in each of the last `PAGES_KEPT`
pages it left, so what it yielded from one is not yielded again when the page comes back.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from momento_http._topics._models import Discontinuity, Heartbeat, TopicEvent, TopicItem

__all__ = ["PAGES_KEPT", "Cursor"]

PAGES_KEPT: Final = 64
"""How many pages left behind the cursor remembers its position in (the oldest goes)."""


class Cursor:
    """The position of a subscription, and the judge of what it yields.

    Args:
        sequence_number: The next number wanted; 0 for "the next message published".
        sequence_page: The page of that number, if known.
        heartbeats: Whether heartbeats are shown to the caller.
    """

    __slots__ = ("_left", "_start_lost", "heartbeats", "next", "page")

    def __init__(self, sequence_number: int, sequence_page: int | None, *, heartbeats: bool):
        self.next = sequence_number
        self.page = sequence_page
        self.heartbeats = heartbeats
        self._start_lost = False
        # The next number in each page left, oldest first; None until one is left (most
        # subscriptions never see a page change, and an empty dict takes 64 bytes).
        self._left: dict[int, int] | None = None

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

    def news(self, events: list[TopicEvent]) -> bool:
        """Whether any of the events is one the caller has not seen; heartbeats are not.

        Until the first new one, each event leaves the position as it was: judging each
        against the position now is judging it as `check` will.
        """
        return any(not isinstance(event, Heartbeat) and self.check(event) for event in events)

    def check(self, event: TopicEvent) -> list[TopicEvent]:
        """What the caller should see of one received event, given the position."""
        if isinstance(event, Heartbeat):
            return [event] if self.heartbeats else []
        if isinstance(event, Discontinuity):
            page = event.new_sequence_page or self.page
            if self._start_lost and not self.positioned:
                return [Discontinuity(0, event.new_sequence_number, page, unknown_start=True)]
            reached = self._reached(page)
            # A stale notice announces nothing this subscription has not already passed.
            if reached is not None and event.new_sequence_number <= reached:
                return []
            return [replace(event, new_sequence_page=page)]
        return self._check_item(event)

    def _reached(self, page: int | None) -> int | None:
        """The next number wanted in a page: None for a page never read (or forgotten)."""
        if not self.positioned:
            return None
        if page == self.page:
            return self.next
        if page is None or self._left is None:
            return None
        return self._left.get(page)

    def _check_item(self, event: TopicItem) -> list[TopicEvent]:
        page = event.sequence_page or self.page
        item = event if event.sequence_page == page else replace(event, sequence_page=page)
        if not self.positioned:  # no position yet: the first message sets it
            if self._start_lost:
                return [Discontinuity(0, event.sequence_number, page, unknown_start=True), item]
            return [item]
        # With no page known yet, any page is taken to be the position's.
        reached = self.next if self.page is None else self._reached(page)
        if reached is not None and event.sequence_number < reached:
            return []  # seen already: the server repeated it, on this page or one it left
        new_page = self.page is not None and page != self.page
        if new_page or event.sequence_number > self.next:
            return [Discontinuity(self.next - 1, event.sequence_number, page), item]
        return [item]

    def advance(self, event: TopicEvent) -> TopicEvent:
        """Move past an event as it is handed to the caller; give it back."""
        if isinstance(event, TopicItem):
            self._move(event.sequence_number + 1, event.sequence_page)
        elif isinstance(event, Discontinuity):
            if event.unknown_start:  # said once; a page numbered from 0 must not say it twice
                self._start_lost = False
            self._move(event.new_sequence_number, event.new_sequence_page)
        return event

    def _move(self, number: int, page: int | None) -> None:
        if page != self.page and self.page is not None and self.positioned:
            left = self._left if self._left is not None else {}
            left.pop(self.page, None)  # the newest goes last
            left[self.page] = self.next
            if page is not None:
                left.pop(page, None)  # the current page is not one left
            if len(left) > PAGES_KEPT:
                del left[next(iter(left))]
            self._left = left
        self.next, self.page = number, page
