"""Sequence pages: the number that names one instance of a topic.

Momento's examples show pages that look like epoch seconds (`1748358253`), and clients in
languages with 32-bit `int`s read them as such, so a page is the creation time in seconds on
the server's clock, kept within a signed 32-bit integer. Pages only need to differ between
instances; seconds alone would repeat for two topics created within the same second, or by
two servers on the same fake clock, so every page handed out in this process is larger than
the one before (wrapping around, past 2**31 - 1, to 1).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["MAX_PAGE", "PageNumbers"]

MAX_PAGE = 2**31 - 1
"""The largest page: the largest signed 32-bit integer."""

_lock = threading.Lock()
_last = 0  # the last page handed out by any server in this process, before wrapping


class PageNumbers:
    """Hands out the page of each new topic instance.

    Args:
        clock: Gives the time in epoch seconds.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    def __call__(self) -> int:
        """The next page: now in seconds, or one more than the last page, if larger."""
        global _last  # noqa: PLW0603 - shared by every server in the process, on purpose
        seconds = int(self._clock())
        with _lock:
            _last = max(seconds, _last + 1)
            return (_last - 1) % MAX_PAGE + 1
