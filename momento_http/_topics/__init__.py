"""Topics: subscriptions, their long polls, and the events they yield.

It owns the events (`_models`), reading a poll's answer (`_poll_parsing`), where a
subscription stands (`_cursor`), the poll loop and its resumption (`_subscription`),
spacing quiet polls (`_quiet`), riding out an outage (`_outage`), health counters
(`_subscription_stats`), and the wiring of a client's subscriptions to connections of
their own (`_topic_polls`, `_subscriptions`). Publishing is an operation like any other
(`_operations`).

Who may import it: the package root and `_client`, through the names below only. It sends
through the send path's front, and asks the transport (through its front) for a dedicated
connection per subscription.
"""

from momento_http._topics._models import Discontinuity, Heartbeat, TopicEvent, TopicItem
from momento_http._topics._subscription import Subscription
from momento_http._topics._subscription_stats import SubscriptionStats
from momento_http._topics._subscriptions import Subscriptions

__all__ = [
    "Discontinuity",
    "Heartbeat",
    "Subscription",
    "SubscriptionStats",
    "Subscriptions",
    "TopicEvent",
    "TopicItem",
]
