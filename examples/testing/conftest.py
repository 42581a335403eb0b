"""Load momento_http's pytest plugin; name the caches the tested code uses."""

import pytest

pytest_plugins = ["momento_http.testing"]


@pytest.fixture(scope="session")
def momento_caches() -> list[str]:
    """The caches the local server creates (default: `default-cache`)."""
    return ["orders"]
