"""The local server's settings: Momento's limits, and how topics behave."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

__all__ = ["DEFAULT_CACHE", "Settings"]

DEFAULT_CACHE = "default-cache"

_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Settings:
    """What the local server enforces and how its topics behave; defaults follow Momento.

    Attributes:
        max_item_bytes: Largest item, key and value together.
        max_ttl_seconds: Longest TTL a `set` may ask for.
        max_publish_bytes: Largest published message.
        max_memory_bytes: The budget for everything the server stores: items (key, value
            and a fixed overhead each), topics (a fixed overhead each, plus every message
            their rings hold, with its own overhead) and so the number of topics. Past it
            the server evicts: expired items, then topics with no poll waiting (least
            recently used first), then items (likewise), then the oldest messages of the
            topic being published to, and of topics with polls waiting.
        topic_ring_size: How many recent messages each topic keeps for pollers; a poll
            asking for an older one gets a discontinuity first.
        topic_idle_seconds: A topic with no publish and no poll for this long is dropped;
            its next use starts a new sequence page.
        poll_hold_seconds: How long a poll with nothing to return is held before it is
            answered with no items.
        poll_batch_size: The most items one poll answer carries.
        heartbeat_seconds: When set, a poll that waits this long with nothing to return
            is answered with a heartbeat item instead of waiting on.
        extra_fields: Add fields and item kinds a client does not know to every poll
            answer, to test that clients ignore them.
        header_faults: Obey fault rules sent in the `x-momento-local-fault` request header
            (only from requests carrying a valid token); False answers such requests 400.
        max_fault_rules: The most fault rules armed at once, however they arrive.
        max_connections: The most connections served at once; past it a new connection
            is answered `503` and closed. None: as many as the process's open-file limit
            leaves room for.
        request_timeout_seconds: How long a client may take to send a request's head, and
            then its body; past it the server answers `408` and closes the connection. A
            connection that sends nothing for this long is closed.
    """

    max_item_bytes: int = 5 * _MIB
    max_ttl_seconds: int = 24 * 60 * 60
    max_publish_bytes: int = 4 * 1024
    max_memory_bytes: int = 256 * _MIB
    topic_ring_size: int = 1000
    topic_idle_seconds: float = 600.0
    poll_hold_seconds: float = 30.0
    poll_batch_size: int = 100
    heartbeat_seconds: float | None = None
    extra_fields: bool = False
    header_faults: bool = True
    max_fault_rules: int = 1000
    max_connections: int | None = None
    request_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.type == "bool":
                if not isinstance(value, bool):
                    raise ValueError(f"{field.name} must be True or False, not {value!r}")
                continue
            if value is None and field.type.endswith("| None"):
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or math.isnan(value)
                or value <= 0
            ):
                raise ValueError(f"{field.name} must be a positive number, not {value!r}")
            if field.type.startswith("int") and not isinstance(value, int):
                raise ValueError(f"{field.name} must be a whole number, not {value!r}")
