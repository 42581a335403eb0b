"""The SDK's logger, and keeping the token out of httpx's own log lines.

`momento_http` logs a DEBUG record per try and an INFO record per retry or subscription
resume; nothing at WARNING in normal operation. Every URL in them is redacted.
"""

from __future__ import annotations

import logging
from typing import Final

from momento_http._redaction import redact_url

__all__ = ["LOGGER", "hide_tokens_from_httpx_logs"]

LOGGER: Final = logging.getLogger("momento_http")


class _RedactTokenParameter(logging.Filter):
    """Rewrites httpx's "HTTP Request: GET <url> ..." records with the token hidden."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any("token=" in str(a) for a in record.args):
            record.args = tuple(
                redact_url(str(arg)) if "token=" in str(arg) else arg for arg in record.args
            )
        return True


_FILTER: Final = _RedactTokenParameter()


def hide_tokens_from_httpx_logs() -> None:
    """Make httpx's logger hide `token` query parameters (httpx logs each URL at INFO).

    Called by clients that send the token in the query; adding the filter twice is a no-op.
    """
    logging.getLogger("httpx").addFilter(_FILTER)
