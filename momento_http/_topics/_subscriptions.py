"""Subscriptions: a client's subscriptions, opened on polls of their own and ended with it."""

from __future__ import annotations

import weakref

from momento_http._config import ClientConfig
from momento_http._send import Sender
from momento_http._topics._subscription import Subscription
from momento_http._topics._topic_polls import TopicPolls
from momento_http._validation import sequence_position, topic_path

__all__ = ["Subscriptions"]


class Subscriptions:
    """Opens a client's subscriptions, and keeps those still open to end them with it.

    Args:
        sender: The client's send path.
        config: The client's settings.
    """

    def __init__(self, sender: Sender, config: ClientConfig) -> None:
        self._sender = sender
        self._config = config
        # Weak: a subscription iterated without `async with` and dropped is garbage, and
        # its finalizer closes its connection. Keys of a dict, not a `WeakSet`: they keep
        # the order they were opened in, which `end_all` ends them in, the same each run.
        self._open: weakref.WeakKeyDictionary[Subscription, None] = weakref.WeakKeyDictionary()

    def open(
        self,
        cache: str,
        topic: str,
        *,
        sequence_number: int | None,
        sequence_page: int | None,
        heartbeats: bool,
    ) -> Subscription:
        """A new subscription to a topic; see `MomentoClient.subscribe`.

        Raises:
            InvalidArgumentError: An argument is malformed.
        """
        config = self._config
        polls = TopicPolls(
            self._sender,
            cache=cache,
            topic=topic,
            path=topic_path(cache, topic),
            timeout=config.timeout,
            poll_timeout=config.poll_timeout,
            retry=config.retry,
        )
        subscription = Subscription(
            polls,
            sequence_number=sequence_position(sequence_number, "sequence_number"),
            sequence_page=sequence_position(sequence_page, "sequence_page") or None,
            heartbeats=bool(heartbeats),
            on_end=self._forget,
        )
        self._open[subscription] = None
        return subscription

    def _forget(self, subscription: Subscription) -> None:
        self._open.pop(subscription, None)

    async def end_all(self) -> None:
        """End every open subscription, oldest first: its iteration ends, no error raised."""
        for subscription in list(self._open):
            await subscription._end()
