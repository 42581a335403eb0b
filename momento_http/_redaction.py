"""Keeping the token out of the URLs the SDK shows."""

from __future__ import annotations

import httpx

__all__ = ["redact_url"]

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
