"""The app, started for each test on a local Momento server."""

from collections.abc import AsyncIterator
from typing import cast

import httpx
import pytest
import pytest_asyncio
from app import Service, app
from asgi_lifespan import LifespanManager

from momento_http.local import LocalServer

pytest_plugins = ["momento_http.testing"]


@pytest_asyncio.fixture
async def http(
    momento_server: LocalServer,
    momento_cache: str,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app, started on a cache of the test's own.

    It is ready once the consumer listens: what is ordered then is heard.
    """
    monkeypatch.setenv("MOMENTO_API_KEY", momento_server.api_key)
    monkeypatch.setenv("MOMENTO_BASE_URL", str(momento_server.base_url))
    monkeypatch.setenv("MENU_CACHE", momento_cache)
    async with (
        LifespanManager(app) as started,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(started.app),
            base_url="http://menu.test",
        ) as client,
    ):
        await momento_server.wait_for_subscribers(momento_cache, "orders")
        yield client


@pytest.fixture
def service(http: httpx.AsyncClient) -> Service:
    """The running app's database, kitchen and client."""
    return cast(Service, app.state.service)
