"""The installed version, or a placeholder where the package runs from an uninstalled tree."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Final

__all__ = ["UNKNOWN_VERSION", "VERSION"]

UNKNOWN_VERSION: Final = "0+unknown"
"""The version given when no `momento-http` distribution is installed (a bare clone on
`PYTHONPATH`): a valid PEP 440 version that says it is not a release."""


def _installed_version() -> str:
    # pyproject.toml's `version` is the one source; this is what pip installed from it.
    try:
        return version("momento-http")
    except PackageNotFoundError:
        return UNKNOWN_VERSION


VERSION: Final = _installed_version()
