"""The SDK's logger, and keeping the token out of httpx's and httpcore's own log lines.

`momento_http` logs a DEBUG record per try and an INFO record per retry or subscription
resume; WARNING only for a subscription's outage (from its third failed poll in a row) and a
cache-aside store that failed after a good load. Every URL in them is redacted, and every
piece of a server's text in them is scrubbed where it is made.

httpx logs each request at INFO, its URL (which may carry the token) and the server's
reason phrase (which may echo it) with it; httpcore logs the answer's headers at DEBUG.
httpx2 and httpcore2 log the same lines under their own names. All these loggers get a
filter that hides the tokens of every client still in use.
"""

from __future__ import annotations

import logging
from typing import Final

from momento_http._redaction import scrub_known_tokens

__all__ = ["LOGGER"]

LOGGER: Final = logging.getLogger("momento_http")

_FOREIGN_LOGGERS: Final = (
    "httpx",
    "httpx2",
    *(
        f"{core}.{part}"
        for core in ("httpcore", "httpcore2")  # httpx's and httpx2's default transports
        for part in ("connection", "http11", "http2", "proxy", "socks")
    ),
)


class _HideTokens(logging.Filter):
    """Rewrites a record whose message shows a token, with the token hidden."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: its handler reports it
            return True
        scrubbed = scrub_known_tokens(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


_FILTER: Final = _HideTokens()

for _name in _FOREIGN_LOGGERS:
    logging.getLogger(_name).addFilter(_FILTER)
