"""Keeping the token out of everything the SDK shows: URLs, messages, logs.

A server may echo the token anywhere it likes: in a body, a reason phrase, a header, as it
is, percent-encoded (in any mix of escaped and plain characters, with either case of hex
digit), or inside base64. Any text from a server or another library passes through a
`Redactor` before it is shown, and before it is cut short: a cut token would no longer be
recognised.
"""

from __future__ import annotations

import base64
import re
import threading
import weakref

import httpx

__all__ = ["REDACTED", "Redactor", "redact_url", "scrub_known_tokens"]

REDACTED = "[REDACTED]"

_TOKEN_PARAM = re.compile(r"(?<=[?&]token=)[^&#\s\"']*")
_MIN_BASE64_CHARS = 16  # a shorter stretch of base64 could match by chance
# Another library's log line may come from any client, so it passes every client's tokens:
# a short one (a test's "t") would garble every line, and is no secret to hide there.
_MIN_SHARED_CHARS = 16
_HEX_LETTER = re.compile("[A-F]")
_URL_SAFE = str.maketrans("+/", "-_")


def redact_url(url: httpx.URL | str) -> str:
    """Return the URL as text with the value of any `token` query parameter hidden.

    Args:
        url: The request URL.

    Returns:
        The URL with `token=<value>` replaced by `token=[REDACTED]`.
    """
    return _TOKEN_PARAM.sub(REDACTED, str(url))


def _any_escaping(token: str) -> str:
    """A pattern for the token with each character plain or percent-encoded, in any case."""
    parts = []
    for char in token:
        escaped = "".join(f"%{byte:02X}" for byte in char.encode())
        either_case = _HEX_LETTER.sub(lambda letter: f"[{letter[0]}{letter[0].lower()}]", escaped)
        parts.append(f"(?:{re.escape(char)}|{either_case})")
    return "".join(parts)


def _in_base64(token: str) -> list[str]:
    """The base64 (standard and URL-safe) of the token, wherever it stands in what is encoded.

    One stretch per alignment of the token in the encoded bytes, without the characters at
    its edges, which it shares with its neighbours.
    """
    raw = token.encode()
    stretches: dict[str, None] = {}
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + raw).decode()
        first = -(-8 * offset // 6)  # the first character whose 6 bits are all the token's
        end = 8 * (offset + len(raw)) // 6  # past the last such character
        stretch = encoded[first:end]
        if len(stretch) >= _MIN_BASE64_CHARS:
            stretches |= dict.fromkeys([stretch, stretch.translate(_URL_SAFE)])
    return list(stretches)


class Redactor:
    """Hides the tokens a client has used wherever they might show up.

    A server may echo a request back in its error message, and a foreign transport's
    exception may quote the URL: any text shown to the caller passes through `scrub`.
    """

    __slots__ = ("__weakref__", "_pattern", "_tokens")

    def __init__(self) -> None:
        self._tokens: tuple[str, ...] = ()
        self._pattern: tuple[tuple[str, ...], re.Pattern[str]] | None = None

    def remember(self, token: str) -> None:
        """Hide this token from now on too.

        Args:
            token: A token the client sends.
        """
        if token in self._tokens:
            return
        # Longest first, where one token holds another. The pattern is made when first
        # needed: a long token's takes milliseconds, and most clients never show an error.
        self._tokens = tuple(sorted([*self._tokens, token], key=len, reverse=True))
        if len(token) >= _MIN_SHARED_CHARS:
            with _LIVE_LOCK:
                _LIVE.add(self)

    def scrub(self, text: str) -> str:
        """The text with every known token, and any `token=` query value, hidden.

        Args:
            text: Text from a server, a URL, or another library's exception.

        Returns:
            The text, safe to show.
        """
        if self._tokens:
            text = self._forms().sub(REDACTED, text)
        return _TOKEN_PARAM.sub(REDACTED, text)

    def _forms(self) -> re.Pattern[str]:
        """One pattern for every form of every token: base64 stretches, then any escaping."""
        tokens, made = self._tokens, self._pattern  # a log record may be made in any thread
        if made is not None and made[0] is tokens:
            return made[1]
        forms = [re.escape(part) for known in tokens for part in _in_base64(known)]
        forms += [_any_escaping(known) for known in tokens]
        pattern = re.compile("|".join(forms))
        self._pattern = (tokens, pattern)
        return pattern


_LIVE: weakref.WeakSet[Redactor] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()  # log records may be made in any thread


def scrub_known_tokens(text: str) -> str:
    """The text with the tokens of every client still in use, and any `token=` value, hidden.

    For text made where no one client is known: another library's log lines. Clients count
    until they are collected; one whose tokens are all under 16 characters does not count.

    Args:
        text: The text.

    Returns:
        The text, safe to show.
    """
    with _LIVE_LOCK:
        redactors = list(_LIVE)
    for redactor in redactors:
        text = redactor.scrub(text)
    return _TOKEN_PARAM.sub(REDACTED, text)
