"""Keeping the token out of URLs that are shown and out of httpx's log lines."""

from __future__ import annotations

import logging

import httpx

__all__ = ["hide_tokens_in_httpx_logs", "redact_url"]

_REDACTED = "[REDACTED]"


def redact_url(url: httpx.URL | str) -> str:
    """Return the URL as text with the value of any `token` query parameter hidden.

    Args:
        url: The request URL.

    Returns:
        The URL with `token=<value>` replaced by `token=[REDACTED]`.
    """
    parsed = httpx.URL(url)
    if "token" not in parsed.params:
        return str(parsed)
    params = [
        (name, _REDACTED if name == "token" else value)
        for name, value in parsed.params.multi_items()
    ]
    return str(parsed.copy_with(params=params))


class _RedactTokens(logging.Filter):
    """Hides the `token` query value of any URL in a log record's arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, httpx.URL) and "token" in arg.params for arg in record.args
        ):
            record.args = tuple(
                redact_url(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


_FILTER = _RedactTokens()


def hide_tokens_in_httpx_logs() -> None:
    """Make httpx's request log lines show URLs with the token hidden. Safe to repeat.

    httpx logs every request's URL at INFO; a client sending its token in the query
    string would otherwise have it written to any log that shows httpx's INFO lines.
    """
    logger = logging.getLogger("httpx")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
