"""Errors as the command line says them: naming its flags, not the client's parameters.

The client's own messages are written for Python callers (`pass api_key=`, `base_url must
be ...`). Those it raises before sending anything are reworded here; errors that carry a
response or a request are shown as they are.
"""

from __future__ import annotations

import argparse
import os
import re

from momento_http import InvalidArgumentError, MomentoError

__all__ = ["api_key_source", "describe"]

_REWORDINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^no api_key: pass api_key= or set "), "no API key: give --api-key or set "),
    (
        re.compile(r"\bpass base_url=, endpoint= or region="),
        "give --base-url, --endpoint or --region",
    ),
    (re.compile(r"\bpass a full URL as base_url$"), "give a full URL with --base-url"),
    (re.compile(r"^base_url\b"), "--base-url"),
    (re.compile(r"^endpoint\b"), "--endpoint"),
    (re.compile(r"^unknown region\b"), "unknown --region"),
    (re.compile(r"^timeout\b"), "--timeout"),
    (re.compile(r"^ttl\b"), "--ttl"),
)


def api_key_source(args: argparse.Namespace) -> str:
    """Where the API key came from: the flag, or the environment variable the client read.

    Args:
        args: What the parser parsed.

    Returns:
        `--api-key`, `MOMENTO_API_KEY` or `MOMENTO_AUTH_TOKEN`.
    """
    if getattr(args, "api_key", None) is not None:
        return "--api-key"
    return "MOMENTO_API_KEY" if os.environ.get("MOMENTO_API_KEY") else "MOMENTO_AUTH_TOKEN"


def describe(error: MomentoError, args: argparse.Namespace) -> str:
    """Say what went wrong, in the command line's terms.

    Args:
        error: What the client raised.
        args: What the parser parsed, to tell which flag or variable a value came from.

    Returns:
        The message to print after the program's name.
    """
    refused_before_sending = isinstance(error, InvalidArgumentError) and error.method is None
    if not refused_before_sending:
        return str(error)
    message = re.sub(r"^api_key\b", api_key_source(args), error.message)
    for pattern, replacement in _REWORDINGS:
        message = pattern.sub(replacement, message)
    return message
