"""Exit statuses: one per kind of outcome, so scripts can tell a miss from a failure."""

from __future__ import annotations

import enum

from momento_http import (
    AuthenticationError,
    CacheNotFoundError,
    InvalidArgumentError,
    MomentoConnectionError,
    MomentoError,
    MomentoTimeoutError,
    PermissionDeniedError,
)

__all__ = ["ExitCode", "exit_code_for"]


class ExitCode(enum.IntEnum):
    """What `momento-http` exits with."""

    OK = 0
    """The command did what it was asked."""
    MISS = 1
    """`get`: the key is not in the cache."""
    BAD_INPUT = 2
    """The command line or a value was refused, before or by the server (400, 413)."""
    AUTH = 3
    """The API key is invalid or expired, or lacks the permission (401, 403)."""
    NOT_FOUND = 4
    """The cache does not exist."""
    SERVER = 5
    """The server failed or refused for now (5xx, 429, an unexpected answer)."""
    UNREACHABLE = 6
    """The server could not be reached, or did not answer in time."""
    INTERRUPTED = 130
    """Ctrl-C stopped a command other than `subscribe` (which ends with OK)."""


_BY_ERROR: tuple[tuple[type[MomentoError], ExitCode], ...] = (
    (InvalidArgumentError, ExitCode.BAD_INPUT),
    (AuthenticationError, ExitCode.AUTH),
    (PermissionDeniedError, ExitCode.AUTH),
    (CacheNotFoundError, ExitCode.NOT_FOUND),
    (MomentoTimeoutError, ExitCode.UNREACHABLE),
    (MomentoConnectionError, ExitCode.UNREACHABLE),
)


def exit_code_for(error: MomentoError) -> ExitCode:
    """Pick the exit status for an error the client raised.

    Args:
        error: The error.

    Returns:
        Its exit status; SERVER for any error not named above.
    """
    for kind, code in _BY_ERROR:
        if isinstance(error, kind):
            return code
    return ExitCode.SERVER
