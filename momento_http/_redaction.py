"""Keeping the token out of everything the SDK shows: URLs, messages, logs."""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus

import httpx

__all__ = ["REDACTED", "Redactor", "redact_url"]

REDACTED = "[REDACTED]"

_TOKEN_PARAM = re.compile(r"(?<=[?&]token=)[^&#\s\"']*")


def redact_url(url: httpx.URL | str) -> str:
    """Return the URL as text with the value of any `token` query parameter hidden.

    Args:
        url: The request URL.

    Returns:
        The URL with `token=<value>` replaced by `token=[REDACTED]`.
    """
    return _TOKEN_PARAM.sub(REDACTED, str(url))


class Redactor:
    """Hides the tokens a client has used wherever they might show up.

    A server may echo a request back in its error message, and a foreign transport's
    exception may quote the URL: any text shown to the caller passes through `scrub`.
    The token is hidden as it is, and as it looks percent-encoded in a query string.
    """

    __slots__ = ("_forms",)

    def __init__(self) -> None:
        self._forms: list[str] = []

    def remember(self, token: str) -> None:
        """Hide this token from now on too.

        Args:
            token: A token the client sends.
        """
        forms = {token, quote(token, safe=""), quote_plus(token)} - set(self._forms)
        self._forms = sorted([*self._forms, *forms], key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """The text with every known token, and any `token=` query value, hidden.

        Args:
            text: Text from a server, a URL, or another library's exception.

        Returns:
            The text, safe to show.
        """
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return _TOKEN_PARAM.sub(REDACTED, text)
